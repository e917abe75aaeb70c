/** S3 refuses keys longer than 1024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024

/** Why a path or key was refused; the routing middleware turns it into a 400. */
export type KeyProblem = 'encoding' | 'dot-segment' | 'nul' | 'too-long' | 'backslash'

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
 * Checks a decoded object key. A key is refused when any part between `/` or `\` is
 * `.` or `..` — also after further rounds of decoding, so `%252E%252E` cannot become a
 * traversal in some component that decodes again — when it holds a NUL, or when it
 * is longer than S3 allows.
 */
export function findKeyProblem(key: string): KeyProblem | undefined {
  if (key.includes('\0')) return 'nul'
  if (utf8ByteLength(key) > MAX_KEY_BYTES) return 'too-long'
  if (hasDotSegment(key)) return 'dot-segment'
  return undefined
}

/**
 * Checks a request path exactly as it arrived (before the query), before any routing.
 * URL parsers read `\` as `/` and resolve `.`/`..` segments — also spelled `%2e`, and
 * tabs and line feeds are dropped — so a raw path like `/private/..\public/x` names one
 * bucket on the wire and another once parsed; components that decode again (or treat
 * `\` as a separator) see traversals in `%2e%2e%5c` or `%252e%252e`. Refused: a raw
 * `\`, a raw tab, CR or LF, and a `.` or `..` segment under any separator (`/`, `\`,
 * `%2F`, `%5C`) after any number of rounds of percent-decoding.
 */
export function findRawPathProblem(rawPath: string): KeyProblem | undefined {
  const end = rawPath.search(/[?#]/)
  const path = end === -1 ? rawPath : rawPath.slice(0, end)
  if (path.includes('\\')) return 'backslash'
  if (RAW_CONTROL.test(path)) return 'encoding'
  return hasDotSegment(path) ? 'dot-segment' : undefined
}

const RAW_CONTROL = /[\t\n\r]/
/** A `.` or `..` between separators (or the text's ends); `/` and `\` both separate. */
const DOT_SEGMENT = /(?:^|[/\\])\.{1,2}(?:[/\\]|$)/
/** The escapes that can spell a dot, a separator, or another escape. Others can't change the path's shape. */
const SHAPE_ESCAPE = /%(2[eEfF]|5[cC]|25)/g

/**
 * Whether `text` has a dot segment now or after decoding the escapes of dots, separators
 * and `%` itself, round after round (each round shortens the text, so this ends). Other
 * escapes are left alone: they can't make a segment that is a dot.
 */
function hasDotSegment(text: string): boolean {
  for (;;) {
    if (DOT_SEGMENT.test(text)) return true
    if (!text.includes('%')) return false
    const decoded = text.replace(SHAPE_ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    if (decoded === text) return false
    text = decoded
  }
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
