/**
 * ListObjectsV2 (`GET /?list-type=2&prefix=...`), signed with the bucket's credentials by
 * the same SigV4 signer as every object request. Runtime-neutral.
 *
 * The answer is read with a few patterns rather than an XML library: only four elements
 * of a fixed, flat schema are needed (`Key`, `Size`, `IsTruncated`,
 * `NextContinuationToken`), S3 escapes nothing else in them than the five XML entities
 * and numeric references (decoded here), and the core keeps no dependency for it.
 */
import type { ResolvedS3Target } from '../config/types.js'
import { BadGatewayError } from '../errors.js'
import { readTextBounded } from '../net/read-bounded.js'
import { targetSigner, type FetchFunction } from '../s3/s3-client.js'
import { objectUrlBase } from '../s3/object-url.js'
import type { S3Signer } from '../s3/sigv4.js'
import { encodeSegment } from '../routing/object-key.js'

/** ListObjectsV2 pages hold at most 1,000 keys of at most 1 KiB each, with their metadata. */
const MAX_LIST_PAGE_BYTES = 8 * 1024 * 1024

export interface ListedObject {
  readonly key: string
  readonly size: number
}

export interface ListPage {
  readonly objects: readonly ListedObject[]
  /** Where the next page starts; absent on the last page. */
  readonly continuationToken?: string
}

/** Pages of the keys under `prefix`, up to 1000 a page, until the last or `signal` aborts. */
export async function* listObjects(
  target: ResolvedS3Target,
  prefix: string,
  fetchImpl: FetchFunction,
  signal: AbortSignal,
  signer: () => Promise<S3Signer> = targetSigner(target),
): AsyncGenerator<readonly ListedObject[]> {
  let token: string | undefined
  do {
    // Each page signed with the credentials current then (a long listing may outlive a session).
    const page = await listPage(target, await signer(), prefix, token, fetchImpl, signal)
    yield page.objects
    token = page.continuationToken
  } while (token !== undefined)
}

async function listPage(
  target: ResolvedS3Target,
  sign: S3Signer,
  prefix: string,
  token: string | undefined,
  fetchImpl: FetchFunction,
  signal: AbortSignal,
): Promise<ListPage> {
  const url = new URL(objectUrlBase(target))
  const params: Array<[string, string]> = [['list-type', '2'], ['prefix', prefix]]
  if (token !== undefined) params.push(['continuation-token', token])
  // RFC 3986 encoding (`+` would be a space to S3): URLSearchParams would write form encoding.
  url.search = params.map(([name, value]) => `${encodeSegment(name)}=${encodeSegment(value)}`).join('&')
  const headers = sign('GET', url, new Headers({ 'accept-encoding': 'identity' }))
  const timeout = AbortSignal.timeout(target.timeoutMs)
  let response: Response
  try {
    response = await fetchImpl(url.href, { method: 'GET', headers, signal: AbortSignal.any([signal, timeout]), redirect: 'manual' })
  } catch (error) {
    if (signal.aborted) throw error
    throw new BadGatewayError('The storage backend could not be reached (ListObjectsV2)', { cause: error })
  }
  // S3's error body names the bucket and more: it is not passed on, only the status.
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => {})
    throw new BadGatewayError(`ListObjectsV2 failed with status ${response.status}`)
  }
  // A page holds at most 1,000 keys of at most 1 KiB each: anything far beyond is not S3.
  const text = await readTextBounded(response, MAX_LIST_PAGE_BYTES, signal)
  return parseListPage(text)
}

/** The objects and the continuation token of a ListObjectsV2 answer. */
export function parseListPage(xml: string): ListPage {
  const objects: ListedObject[] = []
  for (const [, contents] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = element(contents!, 'Key')
    const size = Number(element(contents!, 'Size'))
    if (key !== undefined && Number.isFinite(size)) objects.push({ key, size })
  }
  const truncated = element(xml.replace(/<Contents>[\s\S]*?<\/Contents>/g, ''), 'IsTruncated') === 'true'
  const token = element(xml, 'NextContinuationToken')
  return { objects, ...(truncated && token !== undefined && { continuationToken: token }) }
}

function element(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)
  return match === null ? undefined : decodeXml(match[1]!)
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16))
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)))
    return ENTITIES[entity] ?? whole
  })
}
