/**
 * `Cache-Control` for a response that only its requester may keep: what S3 said, made
 * `private`. A shared cache (CDN, corporate proxy) must not store a private response
 * (RFC 9111 §5.2.2.7), while the browser may, for S3's `max-age`.
 */

// Directives meant for shared caches only: meaningless once the response is private.
const SHARED_ONLY = new Set(['public', 'private', 's-maxage', 'proxy-revalidate'])
// Commas separate directives, except inside a quoted value (`no-cache="a, b"`).
const DIRECTIVE_SEPARATOR = /,(?=(?:[^"]*"[^"]*")*[^"]*$)/

/**
 * `private` followed by S3's other directives (`max-age`, `no-cache`, `must-revalidate`,
 * ...), without `public`, `s-maxage` and `proxy-revalidate`. `null` (no header) gives
 * `private`.
 *
 * @example
 * privateCacheControl('public, max-age=3600, s-maxage=86400') // 'private, max-age=3600'
 */
export function privateCacheControl(value: string | null): string {
  if (value === null) return 'private'
  let result = 'private'
  for (const part of value.split(DIRECTIVE_SEPARATOR)) {
    const directive = part.trim()
    if (directive === '') continue
    const name = directive.split('=', 1)[0]!.trim().toLowerCase()
    if (!SHARED_ONLY.has(name)) result += `, ${directive}`
  }
  return result
}
