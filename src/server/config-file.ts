import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseConfig, type ParsedConfig } from '../config/parse.js'
import { ConfigError, type ConfigIssue } from '../errors.js'
import { checkServerBlocks, resolveServerSettings, serverBlocks, type ServerSettings, type SettingsOverrides } from './settings.js'

const WARNINGS = Symbol('warnings')

/** The warnings found in a file whose `ConfigError` this is (unknown keys are reported even when the file is invalid). */
export function warningsOf(error: ConfigError): readonly ConfigIssue[] {
  return (error as ConfigError & { [WARNINGS]?: ConfigIssue[] })[WARNINGS] ?? []
}

/** A config file, parsed and validated. */
export interface LoadedConfig {
  /** The absolute path read. */
  readonly path: string
  /** What `createYatagarasu` takes (plus the server blocks). Secrets print as `***` in JSON. */
  readonly config: ParsedConfig
  /** The server's settings: `server`, `logging`, `metrics`, `health`, `shutdown`, with defaults. */
  readonly settings: ServerSettings
  /** Unknown keys (path and line); they were ignored. */
  readonly warnings: readonly ConfigIssue[]
}

/**
 * Reads and validates a YAML or JSON config file for the standalone server: the
 * buckets and the server's own blocks, `${VAR}` filled from `env`. Throws a
 * `ConfigError` listing every problem with its path and line (or why the file could
 * not be read).
 *
 * @example
 * const { config, settings, warnings } = await loadConfigFile('config.yaml')
 */
export async function loadConfigFile(
  path: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: SettingsOverrides = {},
): Promise<LoadedConfig> {
  const absolute = resolve(path)
  let text: string
  try {
    text = await readFile(absolute, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable')
    throw new ConfigError([{ path: '', message: `cannot read ${absolute}: ${reason}` }])
  }
  const warnings: ConfigIssue[] = []
  let config: ParsedConfig
  try {
    config = parseConfig(text, env, {
      blocks: serverBlocks,
      check: checkServerBlocks,
      onWarning: (warning) => warnings.push(warning),
    })
  } catch (error) {
    if (error instanceof ConfigError) Object.defineProperty(error, WARNINGS, { value: warnings })
    throw error
  }
  return { path: absolute, config, settings: resolveServerSettings(config, overrides), warnings }
}
