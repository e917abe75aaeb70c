/**
 * An independent SigV4 check for the test S3.
 *
 * The proxy signs with aws4fetch; this recomputes signatures with AWS's own
 * `@smithy/signature-v4`, from the request as it arrived on the wire, the way S3 does.
 * So an encoding or canonicalisation mistake in the proxy makes a test fail instead of
 * being hidden by the same library agreeing with itself. (s3rver checks no signatures.)
 */
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'

/** S3 refuses requests whose `x-amz-date` is further than this from its clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000

export interface SignatureInput {
  method: string
  /** The S3 canonical URI: each decoded path segment RFC 3986-encoded, joined by '/'. */
  canonicalPath: string
  /** Decoded query parameters (re-encoded by the signer). */
  query: Record<string, string | string[]>
  /**
   * Exactly the signed headers, lower-case names. A session token, when used, is one of
   * them (`x-amz-security-token`), which is why there is no separate token input.
   */
  headers: Record<string, string>
  accessKeyId: string
  secretAccessKey: string
  region: string
  /** `x-amz-date`, e.g. `20130524T000000Z`; the signing date. */
  amzDate: string
}

/** The hex signature S3 would expect for this request. */
export async function computeS3Signature(input: SignatureInput): Promise<string> {
  const signer = new SignatureV4({
    service: 's3',
    region: input.region,
    sha256: Sha256,
    // No session token here on purpose: smithy would add the header itself even when the
    // request did not sign it. If it was signed, it is in `input.headers`.
    credentials: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
    // The payload hash comes from the signed x-amz-content-sha256 header, never computed.
    applyChecksum: false,
    // The path is already canonical. With escaping on, smithy would also drop empty and
    // dot segments (`a//b` → `a/b`), which S3 keeps as part of the key.
    uriEscapePath: false,
  })
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: 'http:',
      hostname: input.headers.host?.split(':')[0] ?? 'localhost',
      path: input.canonicalPath,
      query: input.query,
      headers: { ...input.headers },
    },
    {
      signingDate: parseAmzDate(input.amzDate),
      // Sign exactly what the client said it signed, including headers smithy would
      // otherwise skip (e.g. cache-control).
      signableHeaders: new Set(Object.keys(input.headers)),
    },
  )
  const authorization = String(signed.headers.authorization ?? '')
  return /Signature=([0-9a-f]{64})/.exec(authorization)?.[1] ?? ''
}

/**
 * What S3 signs as the path: the decoded path split on '/', each segment strictly
 * RFC 3986-encoded (encodeURIComponent plus `!'()*`), joined with '/'. Empty segments
 * are kept. S3 does not double-encode.
 */
export function canonicalS3Path(decodedPath: string): string {
  return decodedPath.split('/').map(encodeRfc3986).join('/')
}

export function encodeRfc3986(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** Percent-decodes each path segment once; undefined when the encoding is not valid UTF-8. */
export function decodePath(rawPath: string): string | undefined {
  try {
    // Per segment, so an encoded '/' (%2F) is decoded inside its segment like S3 does.
    return rawPath.split('/').map(decodeURIComponent).join('/')
  } catch {
    return undefined
  }
}

/**
 * Query parameters as S3 reads them. `URLSearchParams` also turns a literal `+` into a
 * space — form decoding, which is what S3 and aws4fetch both do for the query (not for
 * the path). The signer re-encodes space as %20.
 */
export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    const existing = query[name]
    query[name] = existing === undefined ? value : [...[existing].flat(), value]
  }
  return query
}

export interface ParsedAuthorization {
  accessKeyId: string
  date: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
}

/** Parses `AWS4-HMAC-SHA256 Credential=AK/yyyymmdd/region/service/aws4_request, SignedHeaders=…, Signature=…`. */
export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8})\/([^/,]+)\/([^/,]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      header,
    )
  if (!match) return undefined
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match
  return {
    accessKeyId: accessKeyId!,
    date: date!,
    region: region!,
    service: service!,
    signedHeaders: signedHeaders!.split(';'),
    signature: signature!,
  }
}

/** `20130524T000000Z` → Date; an invalid Date when the format is wrong. */
export function parseAmzDate(amzDate: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
  if (!m) return new Date(Number.NaN)
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
}

export interface WireRequest {
  method: string
  /** The path exactly as received, still percent-encoded. */
  rawPath: string
  rawQuery: string
  /** Lower-case names. */
  headers: Record<string, string>
}

export interface VerifierConfig {
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** The region a bucket lives in; undefined for a bucket that does not exist. */
  regionOf(bucket: string): string | undefined
  now?: () => number
}

/**
 * Checks a request's `Authorization` header the way S3 would.
 * Returns undefined when it is valid, otherwise why not.
 */
export async function verifyS3Request(request: WireRequest, config: VerifierConfig): Promise<string | undefined> {
  const { headers } = request
  const auth = parseAuthorization(headers.authorization ?? '')
  if (!auth) return 'Authorization header missing or malformed'

  const failure = checkScopeAndHeaders(request, auth, config)
  if (failure !== undefined) return failure

  const decodedPath = decodePath(request.rawPath)
  if (decodedPath === undefined) return 'path is not valid percent-encoded UTF-8'

  const signedHeaders: Record<string, string> = {}
  for (const name of auth.signedHeaders) signedHeaders[name] = headers[name]!
  const expected = await computeS3Signature({
    method: request.method,
    canonicalPath: canonicalS3Path(decodedPath),
    query: parseQuery(request.rawQuery),
    headers: signedHeaders,
    accessKeyId: config.credentials.accessKeyId,
    secretAccessKey: config.credentials.secretAccessKey,
    region: auth.region,
    amzDate: headers['x-amz-date']!,
  })
  return expected === auth.signature ? undefined : `signature does not match (expected ${expected})`
}

/** Everything but the signature itself: who, where, when, and what was signed. */
function checkScopeAndHeaders(request: WireRequest, auth: ParsedAuthorization, config: VerifierConfig): string | undefined {
  const { headers } = request
  const { credentials } = config
  if (auth.accessKeyId !== credentials.accessKeyId) return `unknown access key id ${auth.accessKeyId}`
  if (auth.service !== 's3') return `service ${auth.service} is not s3`

  const bucket = decodePath(request.rawPath)?.split('/')[1]
  const bucketRegion = bucket ? config.regionOf(bucket) : undefined
  if (bucketRegion === undefined) return `no such test bucket: ${bucket ?? '(none)'}`
  if (auth.region !== bucketRegion) return `region ${auth.region} is not ${bucket}'s region ${bucketRegion}`

  const amzDate = headers['x-amz-date']
  if (amzDate === undefined) return 'x-amz-date missing'
  const signedAt = parseAmzDate(amzDate).getTime()
  if (!Number.isFinite(signedAt)) return `x-amz-date ${amzDate} is malformed`
  if (Math.abs((config.now?.() ?? Date.now()) - signedAt) > MAX_CLOCK_SKEW_MS) return `x-amz-date ${amzDate} is more than 15 minutes off`
  if (amzDate.slice(0, 8) !== auth.date) return 'credential scope date differs from x-amz-date'

  const contentSha = headers['x-amz-content-sha256']
  if (contentSha === undefined) return 'x-amz-content-sha256 missing'
  if (!/^(UNSIGNED-PAYLOAD|STREAMING-[A-Z0-9-]+|[0-9a-f]{64})$/.test(contentSha)) return `x-amz-content-sha256 ${contentSha} is invalid`

  return checkSignedHeaderList(headers, auth.signedHeaders, credentials.sessionToken)
}

function checkSignedHeaderList(headers: Record<string, string>, signed: string[], sessionToken: string | undefined): string | undefined {
  const sorted = [...new Set(signed)].sort()
  if (sorted.join(';') !== signed.join(';')) return 'SignedHeaders is not sorted and unique'
  for (const name of signed) if (headers[name] === undefined) return `signed header ${name} is not in the request`
  if (!signed.includes('host')) return 'host is not signed'
  // S3 requires every x-amz-* header that is sent to be signed (this covers x-amz-date,
  // x-amz-content-sha256 and x-amz-security-token).
  const unsignedAmz = Object.keys(headers).filter((name) => name.startsWith('x-amz-') && !signed.includes(name))
  if (unsignedAmz.length > 0) return `x-amz-* headers not signed: ${unsignedAmz.join(', ')}`
  if (headers['x-amz-security-token'] !== sessionToken) return 'x-amz-security-token missing, unexpected or wrong'
  return undefined
}

/** The query parameters of a presigned URL, in S3's spelling. */
export const PRESIGN_PARAMETERS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
] as const

/** Whether a request carries its signature in the query string (a presigned URL). */
export function isPresigned(rawQuery: string): boolean {
  return new URLSearchParams(rawQuery).has('X-Amz-Signature')
}

/**
 * Checks a presigned request (signature in the query) the way S3 would, recomputing it
 * with smithy's own `presign`: scope, date, expiry, signed headers, session token and
 * signature. Returns undefined when it is valid, otherwise why not.
 */
export async function verifyPresignedS3Request(request: WireRequest, config: VerifierConfig): Promise<string | undefined> {
  const params = new URLSearchParams(request.rawQuery)
  if (params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return 'X-Amz-Algorithm is not AWS4-HMAC-SHA256'
  const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(params.get('X-Amz-Credential') ?? '')
  if (!credential) return 'X-Amz-Credential missing or malformed'
  const [, accessKeyId, date, region, service] = credential
  if (accessKeyId !== config.credentials.accessKeyId) return `unknown access key id ${accessKeyId}`
  if (service !== 's3') return `service ${service} is not s3`
  const bucket = decodePath(request.rawPath)?.split('/')[1]
  const bucketRegion = bucket ? config.regionOf(bucket) : undefined
  if (bucketRegion === undefined) return `no such test bucket: ${bucket ?? '(none)'}`
  if (region !== bucketRegion) return `region ${region} is not ${bucket}'s region ${bucketRegion}`
  const amzDate = params.get('X-Amz-Date') ?? ''
  const signedAt = parseAmzDate(amzDate).getTime()
  if (!Number.isFinite(signedAt)) return `X-Amz-Date ${amzDate} is malformed`
  if (amzDate.slice(0, 8) !== date) return 'credential scope date differs from X-Amz-Date'
  const expires = Number(params.get('X-Amz-Expires'))
  if (!Number.isSafeInteger(expires) || expires < 1 || expires > 604_800) return 'X-Amz-Expires must be 1 to 604800'
  const now = config.now?.() ?? Date.now()
  if (now > signedAt + expires * 1000) return 'Request has expired'
  if (signedAt - now > MAX_CLOCK_SKEW_MS) return 'X-Amz-Date is in the future'
  if (params.get('X-Amz-Security-Token') !== (config.credentials.sessionToken ?? null)) return 'X-Amz-Security-Token missing, unexpected or wrong'
  const signedHeaders = (params.get('X-Amz-SignedHeaders') ?? '').split(';')
  if (!signedHeaders.includes('host')) return 'host is not signed'
  for (const name of signedHeaders) if (request.headers[name] === undefined) return `signed header ${name} is not in the request`
  const decodedPath = decodePath(request.rawPath)
  if (decodedPath === undefined) return 'path is not valid percent-encoded UTF-8'

  // smithy adds the X-Amz-* parameters itself (the token from the credentials): give it the rest.
  const query = parseQuery(request.rawQuery)
  for (const name of PRESIGN_PARAMETERS) delete query[name]
  const headers: Record<string, string> = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }
  for (const name of signedHeaders) headers[name] = request.headers[name]!
  const signer = new SignatureV4({
    service: 's3',
    region: region!,
    sha256: Sha256,
    credentials: { accessKeyId: accessKeyId!, secretAccessKey: config.credentials.secretAccessKey, ...(config.credentials.sessionToken && { sessionToken: config.credentials.sessionToken }) },
    applyChecksum: false,
    uriEscapePath: false,
  })
  const presigned = await signer.presign(
    { method: request.method, protocol: 'http:', hostname: request.headers.host?.split(':')[0] ?? 'localhost', path: canonicalS3Path(decodedPath), query, headers },
    {
      signingDate: new Date(signedAt),
      expiresIn: expires,
      // The payload hash is S3's UNSIGNED-PAYLOAD, named in the canonical request but not signed as a header.
      unsignableHeaders: new Set(['x-amz-content-sha256']),
      unhoistableHeaders: new Set(['x-amz-content-sha256']),
      signableHeaders: new Set(signedHeaders),
    },
  )
  const expected = presigned.query?.['X-Amz-Signature']
  return expected === params.get('X-Amz-Signature') ? undefined : `signature does not match (expected ${String(expected)})`
}
