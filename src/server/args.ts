/** A small parser for `yatagarasu <command> [--flag value]...`. */

export interface ParsedArgs {
  command: string | undefined
  flags: Map<string, string | true>
  positionals: string[]
}

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/**
 * Long flags take `--name value` or `--name=value`; `booleans` never take a value.
 * Short aliases map to long names. `--` ends the flags.
 */
export function parseArgs(
  argv: readonly string[],
  spec: { values: readonly string[]; booleans: readonly string[]; aliases: Readonly<Record<string, string>> },
): ParsedArgs {
  const flags = new Map<string, string | true>()
  const positionals: string[] = []
  let rest = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (rest || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      continue
    }
    if (arg === '--') {
      rest = true
      continue
    }
    const eq = arg.indexOf('=')
    let name = arg.startsWith('--') ? arg.slice(2, eq === -1 ? undefined : eq) : (spec.aliases[arg.slice(1, eq === -1 ? undefined : eq)] ?? '')
    if (!arg.startsWith('--') && name === '') throw new UsageError(`unknown option ${arg.slice(0, eq === -1 ? undefined : eq)}`)
    name = spec.aliases[name] ?? name
    if (spec.booleans.includes(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`)
      flags.set(name, true)
      continue
    }
    if (!spec.values.includes(name)) throw new UsageError(`unknown option ${arg.slice(0, eq === -1 ? undefined : eq)}`)
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || (eq === -1 && value.startsWith('-') && value !== '-')) throw new UsageError(`--${name} needs a value`)
    flags.set(name, value)
  }
  return { command: positionals.shift(), flags, positionals }
}
