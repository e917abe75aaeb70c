/**
 * AWS Signature Version 4 for S3 requests without a body (GET, HEAD): the one signing
 * computation every caller uses — in headers (the S3 client, the server's readiness
 * probe) or in the query string (presigned redirects).
 *
 * AWS SigV4 ("Create a signed AWS API request"): a canonical request, a string to sign,
 * and an HMAC under a key derived per day from the secret. The payload is
 * `UNSIGNED-PAYLOAD` (S3 allows it; these requests have no body). Hashes are
 * `@noble/hashes`' (audited, synchronous): Web Crypto's are asynchronous, and on Node
 * each call is a round trip through the libuv thread pool — most of the latency the
 * proxy added to a pass-through request when signing used it.
 *
 * Checked against AWS's own `@smithy/signature-v4` for arbitrary keys, headers,
 * regions, dates and session tokens (test/s3/sigv4.test.ts), and by the verifying test S3
 * in every integration test.
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { encodeSegment } from '../routing/object-key.js'

export interface SigningCredentials {
  readonly accessKey: string
  readonly secretKey: string
  readonly sessionToken?: string | undefined
  readonly region: string
}

/** Signs a body-less S3 request: returns a copy of `headers` with the SigV4 headers added. */
export type S3Signer = (method: string, url: URL, headers?: Headers) => Headers

const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
/**
 * Sent but not signed. `range` as aws4fetch does: S3 does not require it signed, and
 * intermediaries may rewrite it. The others are hop-by-hop or set by the fetch layer.
 */
const UNSIGNED_HEADERS = new Set(['authorization', 'connection', 'content-length', 'expect', 'range', 'user-agent'])
const encoder = new TextEncoder()

/**
 * Signs a body-less S3 request in its query string (a presigned URL, AWS "Authenticating
 * Requests: Using Query Parameters"): returns a copy of `url` carrying the SigV4 query
 * parameters, valid for `expiresSeconds` (1 to 604800) from now. Only `host` is signed,
 * so the holder may add `Range` and conditional headers.
 */
export type S3Presigner = (method: string, url: URL, expiresSeconds: number) => URL

/**
 * A signer for one set of credentials. The day's signing key is derived once per UTC
 * day (four HMACs), not per request. `now` is the clock, in milliseconds since the epoch.
 */
export function createS3Signer(credentials: SigningCredentials, now: () => number = Date.now): S3Signer {
  const { sessionToken } = credentials
  const sign = signingCore(credentials)

  return function signHeaders(method, url, headers) {
    const signed = new Headers(headers)
    const amzDate = amzDateOf(now())
    signed.set('x-amz-date', amzDate)
    signed.set('x-amz-content-sha256', UNSIGNED_PAYLOAD)
    if (sessionToken !== undefined) signed.set('x-amz-security-token', sessionToken)

    const names = ['host']
    signed.forEach((_value, name) => {
      if (!UNSIGNED_HEADERS.has(name)) names.push(name)
    })
    names.sort()
    let canonicalHeaders = ''
    for (const name of names) canonicalHeaders += `${name}:${name === 'host' ? url.host : canonicalValue(signed.get(name)!)}\n`
    const signedHeaders = names.join(';')
    const { credential, signature } = sign(method, url, canonicalHeaders, signedHeaders, amzDate)
    signed.set('authorization', `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=${signedHeaders}, Signature=${signature}`)
    return signed
  }
}

/** A presigner for one set of credentials; see {@link S3Presigner}. Same signing as {@link createS3Signer}. */
export function createS3Presigner(credentials: SigningCredentials, now: () => number = Date.now): S3Presigner {
  const sign = signingCore(credentials)
  return function presign(method, url, expiresSeconds) {
    const presigned = new URL(url)
    presigned.search = ''
    const amzDate = amzDateOf(now())
    const query = presigned.searchParams
    query.set('X-Amz-Algorithm', 'AWS4-HMAC-SHA256')
    query.set('X-Amz-Credential', `${credentials.accessKey}/${scopeOf(amzDate, credentials.region)}`)
    query.set('X-Amz-Date', amzDate)
    query.set('X-Amz-Expires', String(expiresSeconds))
    query.set('X-Amz-SignedHeaders', 'host')
    if (credentials.sessionToken !== undefined) query.set('X-Amz-Security-Token', credentials.sessionToken)
    const { signature } = sign(method, presigned, `host:${presigned.host}\n`, 'host', amzDate)
    query.set('X-Amz-Signature', signature)
    return presigned
  }
}

/**
 * The one SigV4 computation both signers share: the canonical request (its query is the
 * URL's, its payload `UNSIGNED-PAYLOAD`), the string to sign, and the HMAC under the
 * day's key.
 */
function signingCore(credentials: SigningCredentials) {
  const { accessKey, region } = credentials
  let day: { date: string; key: Uint8Array } | undefined
  function keyFor(date: string): Uint8Array {
    if (day?.date !== date) {
      let key = hmac(sha256, encoder.encode(`AWS4${credentials.secretKey}`), encoder.encode(date))
      for (const part of [region, 's3', 'aws4_request']) key = hmac(sha256, key, encoder.encode(part))
      day = { date, key }
    }
    return day.key
  }
  return function sign(method: string, url: URL, canonicalHeaders: string, signedHeaders: string, amzDate: string) {
    const canonicalRequest = [method, canonicalPath(url.pathname), canonicalQuery(url.searchParams), canonicalHeaders, signedHeaders, UNSIGNED_PAYLOAD].join('\n')
    const scope = scopeOf(amzDate, region)
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${bytesToHex(sha256(encoder.encode(canonicalRequest)))}`
    const signature = bytesToHex(hmac(sha256, keyFor(amzDate.slice(0, 8)), encoder.encode(stringToSign)))
    return { credential: `${accessKey}/${scope}`, signature }
  }
}

/** `20260101T120000Z` */
function amzDateOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '')
}

function scopeOf(amzDate: string, region: string): string {
  return `${amzDate.slice(0, 8)}/${region}/s3/aws4_request`
}

/**
 * S3's canonical URI: each path segment decoded, then strictly RFC 3986-encoded, never
 * twice (S3 is the one service whose paths are not double-encoded). Empty segments are
 * kept: they are part of the key. A segment that does not decode is encoded as text.
 */
function canonicalPath(pathname: string): string {
  return pathname.split('/').map((segment) => encodeSegment(safeDecode(segment))).join('/')
}

/** Parameters by encoded name, then value (none for object GETs and HEADs; the X-Amz-* ones of a presigned URL). */
function canonicalQuery(params: URLSearchParams): string {
  const pairs: [string, string][] = []
  params.forEach((value, name) => pairs.push([encodeSegment(name), encodeSegment(value)]))
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
  return pairs.map(([name, value]) => `${name}=${value}`).join('&')
}

/** Trimmed, inner runs of spaces collapsed to one (SigV4 "canonical headers"). */
function canonicalValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ')
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}
