/** `yatagarasu <command> [options]`, read with `node:util`'s `parseArgs`. */
import { parseArgs } from 'node:util'

export type Invocation =
  | { readonly command: 'help' | 'version' | undefined }
  | { readonly command: 'check'; readonly config: string }
  | { readonly command: 'serve'; readonly config: string; readonly port?: number; readonly host?: string }

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const

/**
 * What the command line asks for; `YATAGARASU_CONFIG` from `env` stands in for a
 * missing `--config`. Throws a {@link UsageError} for anything else. `command` is
 * `undefined` when none is given.
 */
export function readInvocation(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Invocation {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    // Node's first sentence (`Unknown option '--nope'`), without its advice on `--`.
    throw new UsageError(error instanceof Error ? error.message.split(/\.\s|\n/)[0]! : String(error))
  }
  const { values, positionals } = parsed
  const [command, extra] = positionals
  if (values.help || command === 'help') return { command: 'help' }
  if (values.version || command === 'version') return { command: 'version' }
  if (command === undefined) return { command: undefined }
  if (command !== 'serve' && command !== 'check') throw new UsageError(`unknown command ${JSON.stringify(command)}`)
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`)

  const config = values.config ?? env.YATAGARASU_CONFIG
  if (config === undefined || config === '') throw new UsageError('--config FILE is required')
  if (values.port !== undefined && !(/^\d{1,5}$/.test(values.port) && Number(values.port) <= 65535)) {
    throw new UsageError('--port must be a port number from 0 to 65535')
  }
  const port = values.port === undefined ? undefined : Number(values.port)
  if (command === 'check') {
    if (port !== undefined || values.host !== undefined) throw new UsageError('--port and --host are options of serve')
    return { command, config }
  }
  return { command, config, ...(port !== undefined && { port }), ...(values.host !== undefined && { host: values.host }) }
}
