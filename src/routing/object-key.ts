/** S3 refuses keys longer than 1024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024

/** Why a key was refused; the routing middleware turns it into a 400. */
export type KeyProblem = 'encoding' | 'dot-segment' | 'nul' | 'too-long'

/**
 * Percent-decodes one path segment, strictly: malformed escapes and bytes that are
 * not valid UTF-8 give `undefined` (decodeURIComponent throws on both).
 */
export function decodeSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/**
 * Checks a decoded object key. A key is refused when any `/`-separated part is `.`
 * or `..` — also after further rounds of decoding, so `%252E%252E` cannot become a
 * traversal in some component that decodes again — when it holds a NUL, or when it
 * is longer than S3 allows.
 */
export function findKeyProblem(key: string): KeyProblem | undefined {
  if (key.includes('\0')) return 'nul'
  if (utf8ByteLength(key) > MAX_KEY_BYTES) return 'too-long'
  for (const part of key.split('/')) {
    if (isDotSegment(part)) return 'dot-segment'
  }
  return undefined
}

/**
 * Whether a raw (still percent-encoded) path has a `.` or `..` segment in any of the
 * spellings URL parsers resolve (`..`, `.%2e`, `%2E%2E`, ...), before the query.
 */
export function hasRawDotSegment(rawPath: string): boolean {
  const end = rawPath.search(/[?#]/)
  const path = end === -1 ? rawPath : rawPath.slice(0, end)
  return path.split('/').some(isDotSegment)
}

function isDotSegment(part: string): boolean {
  let text = part
  // Three rounds cover double and triple encoding; anything deeper is not a dot segment
  // for any decoder that decodes fewer times.
  for (let round = 0; round < 3; round++) {
    if (text === '.' || text === '..') return true
    if (!text.includes('%')) return false
    const decoded = decodeSegment(text)
    if (decoded === undefined || decoded === text) return false
    text = decoded
  }
  return text === '.' || text === '..'
}

/**
 * Encodes a key for an S3 URL path, segment by segment, the way SigV4 canonicalises
 * it (RFC 3986 unreserved characters kept, everything else `%XX` of its UTF-8 bytes,
 * `/` kept). `+` must become `%2B`: S3 reads a literal `+` in a path as a space.
 */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeSegment).join('/')
}

/** One path segment, strictly RFC 3986-encoded (`encodeURIComponent` plus `!'()*`). */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

function utf8ByteLength(text: string): number {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 2 // a surrogate pair is 2 UTF-16 units and 4 UTF-8 bytes
      i++
    } else if (code > 0x7ff) bytes += 2
    else if (code > 0x7f) bytes += 1
  }
  return bytes
}
