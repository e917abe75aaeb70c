/**
 * Request headers that reach S3: the range and conditional ones (RFC 9110 §13-14).
 * Everything else the client sent — Authorization, Cookie, token headers,
 * Accept-Encoding — stays behind.
 */
export const FORWARDED_REQUEST_HEADERS = [
  'range',
  'if-range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
] as const

/** Object headers passed back to the client; S3's own (x-amz-request-id, Server, ...) are dropped. */
const OBJECT_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-range',
  'etag',
  'last-modified',
  'cache-control',
  'content-encoding',
  'content-disposition',
  'content-language',
  'expires',
])

const USER_METADATA_PREFIX = 'x-amz-meta-'

export function isObjectHeader(name: string): boolean {
  return OBJECT_HEADERS.has(name) || name.startsWith(USER_METADATA_PREFIX)
}

export function forwardedRequestHeaders(source: Headers): Headers {
  const headers = new Headers()
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = source.get(name)
    if (value !== null) headers.set(name, value)
  }
  return headers
}

/** The object headers of an S3 response, plus `Accept-Ranges: bytes`. */
export function objectResponseHeaders(s3Headers: Headers): Headers {
  const headers = new Headers()
  s3Headers.forEach((value, name) => {
    if (isObjectHeader(name)) headers.set(name, value)
  })
  headers.set('accept-ranges', 'bytes')
  return headers
}
