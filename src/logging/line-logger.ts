import type { Logger } from './logger.js'
import { redactFields } from './redact.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'json' | 'text'

export interface LineLoggerOptions {
  /** The least severe level written. `trace` is taken as `debug`. Default `info`. */
  level?: LogLevel | 'trace'
  /** `json`: one JSON object per line (default). `text`: `time LEVEL message key=value ...`. */
  format?: LogFormat
  /** Where each line goes (without its line feed). Default `console.log`. */
  write?: (line: string) => void
  /** The clock for the `time` field. Default `() => new Date()`. */
  now?: () => Date
}

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/**
 * A {@link Logger} writing one line per entry — JSON by default — with `time`, `level`
 * and `message` first. Fields that look like credentials (`authorization`, `token`,
 * `secret`, `password`, `cookie`, ... by name), JWTs anywhere in a value, and query
 * strings and user info of URLs are redacted before anything is written.
 *
 * @example
 * const logger = lineLogger({ level: 'info', format: 'json', write: (line) => process.stdout.write(line + '\n') })
 * createYatagarasu(config, { logger, requestLog: logger })
 */
export function lineLogger(options: LineLoggerOptions = {}): Logger {
  const level: LogLevel = options.level === 'trace' ? 'debug' : (options.level ?? 'info')
  const threshold = SEVERITY[level]
  const format = options.format ?? 'json'
  const write = options.write ?? ((line: string) => console.log(line))
  const now = options.now ?? (() => new Date())

  const log = (entryLevel: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (SEVERITY[entryLevel] < threshold) return
    const time = now().toISOString()
    const safe = fields === undefined ? {} : redactFields(fields)
    write(format === 'json' ? jsonLine(time, entryLevel, message, safe) : textLine(time, entryLevel, message, safe))
  }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

function jsonLine(time: string, level: LogLevel, message: string, fields: Record<string, unknown>): string {
  // The fixed fields first and never overwritten by a field of the same name.
  const { time: _t, level: _l, message: _m, ...rest } = fields
  return JSON.stringify({ time, level, message, ...rest })
}

function textLine(time: string, level: LogLevel, message: string, fields: Record<string, unknown>): string {
  const parts = [time, level.toUpperCase().padEnd(5), textValue(message, true)]
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    parts.push(`${key}=${textValue(value, false)}`)
  }
  return parts.join(' ')
}

/** Plain when safe, else JSON-quoted: a value can never start a new line or fake a field. */
function textValue(value: unknown, isMessage: boolean): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  if (typeof value !== 'string') return JSON.stringify(value) ?? String(value)
  if (value !== '' && (isMessage ? /^[\x21-\x7e][\x20-\x7e]*$/ : /^[\x21-\x7e]+$/).test(value) && !/["=\\]/.test(value)) return value
  return JSON.stringify(value)
}
