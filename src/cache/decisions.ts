/**
 * The seed's "Cache Decision Logic" and "Cacheable vs Non-Cacheable", as pure functions
 * of the request and S3's response. docs/caching.md has the same rules as a table.
 */

/**
 * Why a request must not be answered from (or fill) the cache, or `undefined` when the
 * cache may be consulted.
 *
 * - `Range`/`If-Range`: partial content is never cached (seed, Scenario 4); an
 *   `If-Range` without `Range` is meaningless but forwarded as sent.
 * - `If-Match`/`If-Unmodified-Since`: only S3 can decide a precondition that can fail
 *   with 412 (RFC 9110 §13.1.1, §13.1.4); the cache answers only the conditions whose
 *   failure is a 304.
 * - `Cache-Control: no-cache`/`no-store`, `Pragma: no-cache`: the client asks for a
 *   fresh answer (RFC 9111 §5.2.1.4, §5.4); a browser's hard reload sends these.
 *   (`max-age=0`, sent by an ordinary reload, is not treated as a bypass.)
 */
export function bypassReason(headers: Headers): string | undefined {
  if (headers.has('range') || headers.has('if-range')) return 'range'
  if (headers.has('if-match') || headers.has('if-unmodified-since')) return 'precondition'
  const cacheControl = headers.get('cache-control')
  if (cacheControl !== null) {
    const directives = parseDirectives(cacheControl)
    if (directives.has('no-cache') || directives.has('no-store')) return 'no-cache'
  }
  const pragma = headers.get('pragma')
  if (pragma !== null && parseDirectives(pragma).has('no-cache')) return 'no-cache'
  return undefined
}

/** True when the request carries a validator the cache can answer with 304 (`If-None-Match`, `If-Modified-Since`). */
export function isConditional(headers: Headers): boolean {
  return headers.has('if-none-match') || headers.has('if-modified-since')
}

/**
 * Whether S3's answer to a GET may be stored: a `200` (never a 206, 304 or error) whose
 * `Cache-Control` allows a shared cache to keep it. `no-store` and `private` forbid
 * storing (RFC 9111 §5.2.2.5, §5.2.2.7); `no-cache` allows storing only with
 * revalidation before every use (§5.2.2.4), which this cache does not do, so it is not
 * stored either. The size limit is checked separately, against the body.
 */
export function isStorableResponse(response: Response): boolean {
  if (response.status !== 200 || response.body === null) return false
  const cacheControl = response.headers.get('cache-control')
  if (cacheControl === null) return true
  const directives = parseDirectives(cacheControl)
  return !directives.has('no-store') && !directives.has('private') && !directives.has('no-cache')
}

/** Directive names of a `Cache-Control`/`Pragma` value, lower-cased (`private="x"` → `private`). */
function parseDirectives(value: string): Set<string> {
  const names = new Set<string>()
  for (const part of value.split(',')) {
    const name = part.split('=', 1)[0]!.trim().toLowerCase()
    if (name) names.add(name)
  }
  return names
}
