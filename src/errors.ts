/**
 * The error hierarchy. Every error a request can meet is a {@link YatagarasuError}
 * with a stable `code`; the HTTP-facing ones carry their status. {@link errorResponse}
 * is the one place that turns an error into the JSON body clients see.
 *
 * Messages are written for clients: they never contain tokens, secrets, claim
 * values or anything S3 said (bucket names, endpoints, S3 request ids, XML).
 */
export class YatagarasuError extends Error {
  /** A stable, machine-readable identifier, e.g. `NotFound`. */
  readonly code: string = 'InternalError'

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/**
 * Marks this library's errors, from any copy of it. The ESM and CJS builds each have
 * their own classes, so an error thrown by one fails `instanceof` against the other
 * (an app importing `yatagarasu` while a dependency requires it, or two versions
 * installed side by side). A registered symbol is the same in every copy.
 */
const BRAND = Symbol.for('yatagarasu.error')
Object.defineProperty(YatagarasuError.prototype, BRAND, { value: true })

/**
 * Whether `error` is one of this library's errors — from any build or copy of it —
 * and, with `code`, whether it has that code. Use this (or compare `error.code`)
 * rather than `instanceof`.
 *
 * @example
 * try { createYatagarasu(config) } catch (error) {
 *   if (isYatagarasuError(error, 'ConfigError')) console.error(error.message)
 *   else throw error
 * }
 */
export function isYatagarasuError(error: unknown, code?: string): error is YatagarasuError {
  if (typeof error !== 'object' || error === null || (error as { [BRAND]?: unknown })[BRAND] !== true) return false
  const actual = (error as { code?: unknown }).code
  return typeof actual === 'string' && (code === undefined || actual === code)
}

/** Whether `error` is an {@link HttpError} from any copy of the library (and, with `code`, has that code). */
export function isHttpError(error: unknown, code?: string): error is HttpError {
  return isYatagarasuError(error, code) && typeof (error as { status?: unknown }).status === 'number'
}

/** An error that maps to an HTTP response. */
export class HttpError extends YatagarasuError {
  override readonly code: string = 'InternalError'
  readonly status: number = 500
  /** Extra response headers (e.g. `Allow`, `WWW-Authenticate`, `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>

  constructor(message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message, options)
    this.headers = options?.headers ?? {}
  }
}

export class BadRequestError extends HttpError {
  override readonly code = 'BadRequest'
  override readonly status = 400
}

export class UnauthorizedError extends HttpError {
  override readonly code = 'Unauthorized'
  override readonly status = 401
}

export class ForbiddenError extends HttpError {
  override readonly code = 'Forbidden'
  override readonly status = 403
}

export class NotFoundError extends HttpError {
  override readonly code = 'NotFound'
  override readonly status = 404
}

export class MethodNotAllowedError extends HttpError {
  override readonly code = 'MethodNotAllowed'
  override readonly status = 405
}

export class PreconditionFailedError extends HttpError {
  override readonly code = 'PreconditionFailed'
  override readonly status = 412
}

export class RangeNotSatisfiableError extends HttpError {
  override readonly code = 'RangeNotSatisfiable'
  override readonly status = 416
}

export class UriTooLongError extends HttpError {
  override readonly code = 'URITooLong'
  override readonly status = 414
}

export class RequestHeaderFieldsTooLargeError extends HttpError {
  override readonly code = 'RequestHeaderFieldsTooLarge'
  override readonly status = 431
}

export class TooManyRequestsError extends HttpError {
  override readonly code = 'TooManyRequests'
  override readonly status = 429
}

/** S3 failed (5xx, connection refused/reset) or answered in a way the proxy can't pass on. */
export class BadGatewayError extends HttpError {
  override readonly code = 'BadGateway'
  override readonly status = 502
}

export class ServiceUnavailableError extends HttpError {
  override readonly code = 'ServiceUnavailable'
  override readonly status = 503
}

/** S3 did not answer in time. */
export class GatewayTimeoutError extends HttpError {
  override readonly code = 'GatewayTimeout'
  override readonly status = 504
}

/**
 * The client went away before the response started (nginx's 499). Nobody reads the
 * response; the status exists for logs and metrics.
 */
export class ClientClosedRequestError extends HttpError {
  override readonly code = 'ClientClosedRequest'
  override readonly status = 499
}

/**
 * The configuration is invalid. `issues` lists every problem found, each with the
 * field path (`buckets[1].s3.region`) — never a value, so secrets can't leak.
 */
export class ConfigError extends YatagarasuError {
  override readonly code = 'ConfigError'
  readonly issues: readonly ConfigIssue[]

  constructor(issues: readonly ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map(formatIssue).join('\n')}`)
    this.issues = issues
  }
}

export interface ConfigIssue {
  /** Dotted path with array indices, e.g. `buckets[1].s3.region`; empty for the root. */
  path: string
  message: string
  /** 1-based line in the YAML/JSON source, when the config came from text. */
  line?: number
}

function formatIssue(issue: ConfigIssue): string {
  const where = issue.path || '(root)'
  return issue.line === undefined ? `  ${where}: ${issue.message}` : `  ${where} (line ${issue.line}): ${issue.message}`
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/**
 * The JSON error response for `error`:
 * `{"error":{"status":404,"code":"NotFound","message":"...","requestId":"..."}}`.
 * Errors that are not {@link HttpError}s are bugs or platform failures: they become a
 * 500 whose message reveals nothing of the original error.
 */
export function errorResponse(error: unknown, requestId: string, method = 'GET'): Response {
  const http = isHttpError(error) ? error : undefined
  const status = http?.status ?? 500
  const code = http?.code ?? 'InternalError'
  const message = http?.message ?? 'Internal error'
  const body = JSON.stringify({ error: { status, code, message, requestId } })
  const headers = new Headers(http?.headers)
  headers.set('Content-Type', JSON_CONTENT_TYPE)
  headers.set('Content-Length', String(utf8Length(body)))
  headers.set('Cache-Control', 'no-store')
  headers.set('X-Request-ID', requestId)
  return new Response(method === 'HEAD' ? null : body, { status, headers })
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength
}
