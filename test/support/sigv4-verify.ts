/**
 * An independent SigV4 check for the test S3. The proxy signs with aws4fetch; this
 * recomputes signatures with AWS's own `@smithy/signature-v4`, so an encoding or
 * canonicalisation mistake in the proxy makes the test fail. (s3rver checks none.)
 */
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'

export interface SignatureInput {
  method: string
  /** The S3 canonical URI: each decoded path segment RFC 3986-encoded, joined by '/'. */
  canonicalPath: string
  query: Record<string, string | string[]>
  /** Only the signed headers, lower-case names. */
  headers: Record<string, string>
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  region: string
  /** `x-amz-date`, e.g. `20130524T000000Z`. */
  amzDate: string
}

export async function computeS3Signature(input: SignatureInput): Promise<string> {
  const signer = new SignatureV4({
    service: 's3',
    region: input.region,
    sha256: Sha256,
    credentials: {
      accessKeyId: input.accessKeyId,
      secretAccessKey: input.secretAccessKey,
      ...(input.sessionToken !== undefined && { sessionToken: input.sessionToken }),
    },
    applyChecksum: false,
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
      signableHeaders: new Set(Object.keys(input.headers)),
      unsignableHeaders: new Set(),
    },
  )
  const authorization = String(signed.headers.authorization ?? signed.headers.Authorization ?? '')
  return /Signature=([0-9a-f]{64})/.exec(authorization)?.[1] ?? ''
}

/** What S3 signs as the path: decoded segments, each strictly RFC 3986-encoded. */
export function canonicalS3Path(decodedPath: string): string {
  return decodedPath
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/')
}

export interface ParsedAuthorization {
  accessKeyId: string
  date: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
}

export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      header,
    )
  if (!match) return undefined
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match
  return { accessKeyId: accessKeyId!, date: date!, region: region!, service: service!, signedHeaders: signedHeaders!.split(';'), signature: signature! }
}

export function parseAmzDate(amzDate: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
  if (!m) return new Date(Number.NaN)
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
}
