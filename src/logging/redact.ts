/**
 * Log redaction: the last line of defence, for fields a caller should not have passed.
 * Callers still log ids, names and codes only; this catches the rest.
 */

export const REDACTED = '[REDACTED]'

// By field name (any case, `-`/`_` ignored): credentials and what carries them.
const SENSITIVE_NAME = /authorization|cookie|token|secret|password|passwd|credential|apikey|accesskey|privatekey|signature|jwt/i

// A JWS compact serialisation: three base64url parts, the first two starting `eyJ` ('{"').
const JWT = /eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g

// URLs of any scheme (http, https, redis, rediss, ...): the user info (up to the last
// `@` before the path, so a password holding an unencoded `@` goes whole) and the query.
const URL_PARTS = /\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#]*@)?([^\s?#]*)(\?[^\s#]*)?/gi

const MAX_DEPTH = 6

/** A copy of `fields` with credentials, JWTs and URL query strings replaced by `[REDACTED]`. */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactObject(fields, 0)
}

/** `value` with JWTs and URL query strings / user info redacted. */
export function redactText(value: string): string {
  if (value.length === 0) return value
  const out = value.includes('eyJ') ? value.replace(JWT, REDACTED) : value
  return redactUrls(out, `?${REDACTED}`)
}

/**
 * `text` with the user info of every URL in it removed and each query string replaced
 * by `queryMark` (default: removed too). Passwords, API keys and presigned signatures
 * live there; scheme, host, port, path and fragment stay, so the URL still says where.
 * Used for log fields and for everything `yatagarasu check` prints.
 */
export function redactUrls(text: string, queryMark = ''): string {
  if (!text.includes('://')) return text
  return text.replace(URL_PARTS, (_match, scheme: string, rest: string, query: string | undefined) => `${scheme}${rest}${query !== undefined ? queryMark : ''}`)
}

function redactObject(object: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(object)) {
    out[key] = isSensitiveName(key) && value !== undefined && value !== null && value !== '' ? REDACTED : redactValue(value, depth + 1)
  }
  return out
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value)
  if (typeof value !== 'object' || value === null) return value
  if (depth > MAX_DEPTH) return '[...]'
  if (value instanceof Error) return { name: value.name }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1))
  return redactObject(value as Record<string, unknown>, depth)
}

function isSensitiveName(name: string): boolean {
  return SENSITIVE_NAME.test(name.replace(/[-_]/g, ''))
}
