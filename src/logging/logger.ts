/**
 * Where the library reports what a client must not see: JWKS fetch failures, cache
 * store errors, S3 failures. Fields are structured; they must never hold tokens or
 * secrets (callers pass only ids, names and error codes).
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** The default: warnings and errors as one JSON line each on the console. */
export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'warn', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }
