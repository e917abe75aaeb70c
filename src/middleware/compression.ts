import type { ResolvedCompression } from '../config/compression-schema.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { resolveConfig } from '../config/resolve.js'
import type { ContentCoding, Middleware, Next, RequestContext } from '../context.js'
import { declaredLength } from '../http/declared-length.js'
import { withHeaders } from '../http/mutable-response.js'
import { forwardedRequestHeaders } from '../s3/object-headers.js'

/**
 * The codings this runtime's `CompressionStream` can make, preferred first, with the
 * format name it takes. gzip is in every CompressionStream; brotli is not (yet) in the
 * standard's list, so it is offered only where constructing one works.
 */
function codings(): ReadonlyArray<{ coding: ContentCoding; format: string }> {
  // Probed on first use, not at import: importing the package has no side effects.
  available ??= leftToPlatform()
    ? []
    : [...['brotli', 'br'].flatMap((format) => (supports(format) ? [{ coding: 'br' as const, format }] : [])).slice(0, 1), { coding: 'gzip', format: 'gzip' }]
  return available
}

/**
 * Where the proxy offers no coding: a runtime without `CompressionStream` (edge-runtime),
 * and Cloudflare Workers, whose runtime encodes a body itself when the response names a
 * `Content-Encoding` (`encodeBody: 'automatic'`), so compressed bytes would be compressed
 * twice; Cloudflare compresses at its edge anyway. `navigator.userAgent` is how Workers
 * documents telling itself apart.
 */
function leftToPlatform(): boolean {
  if (typeof CompressionStream !== 'function') return true
  const agent = (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent
  return agent === 'Cloudflare-Workers'
}
let available: ReadonlyArray<{ coding: ContentCoding; format: string }> | undefined

/**
 * On-the-fly compression, part one (per bucket, `compression`): picks the coding for a
 * GET from `Accept-Encoding` (br where the runtime offers it, else gzip) and records it
 * on the context, so the cache keeps each encoding apart (`ctx.variant`) and
 * {@link compress} applies it; every response of the bucket says `Vary: Accept-Encoding`.
 * HEAD, `Range` requests, image transforms and platforms that decode `Content-Encoding`
 * themselves (`decodesContentEncoding`: Next.js) are left alone. Place it before the
 * cache, `compress` after it.
 *
 * @example
 * compose(requestId(), routing(config), jwtAuth(config), compressionRequest(config), cache(config), compress(config), s3Origin(config))
 */
export function compressionRequest(config: YatagarasuConfig | ResolvedConfig): Middleware {
  const enabled = new Set(resolveConfig(config).buckets.flatMap((bucket) => (bucket.compression ? [bucket.name] : [])))
  const offered = codings().map(({ coding }) => coding)

  // Not async: a request to a bucket without compression goes on with no promise of its own.
  return function compressionRequestMiddleware(ctx, next) {
    if (ctx.bucket === undefined || !enabled.has(ctx.bucket.name)) return next()
    return negotiated(ctx, next)
  }

  async function negotiated(ctx: RequestContext, next: Next): Promise<Response> {
    const headers = ctx.request.headers
    // A platform that decodes Content-Encoding itself (Next.js: decodesContentEncoding) would serve gzip bytes unlabelled.
    if (ctx.method === 'GET' && ctx.image === undefined && ctx.variant === undefined && !ctx.decodesContentEncoding && !headers.has('range')) {
      const coding = negotiate(headers.get('accept-encoding'), offered)
      if (coding !== undefined) {
        ctx.encoding = coding
        ctx.variant = `encoding=${coding}`
        // The client's validators name the compressed representation (a weak ETag, see
        // compress); S3 knows the object's strong one. Weak comparison either way (RFC 9110 §13.1.2).
        const ifNoneMatch = headers.get('if-none-match')
        if (ifNoneMatch !== null && ctx.originRequest === undefined) {
          const forwarded = forwardedRequestHeaders(headers)
          forwarded.set('if-none-match', ifNoneMatch.replace(/W\//g, ''))
          ctx.originRequest = { method: 'GET', headers: forwarded }
        }
      }
    }
    const response = await next()
    return withHeaders(response, (h) => h.append('vary', 'Accept-Encoding'))
  }
}

/**
 * On-the-fly compression, part two: compresses a `200` (through `CompressionStream`, as
 * it streams: never buffered, and a client that leaves cancels S3) when
 * {@link compressionRequest} chose a coding, the object is not encoded already, its type
 * is one of `types` and its `Content-Length` is at least `minSize`. The compressed
 * response has no `Content-Length` (its length is unknown until the end) and a weak
 * ETag (RFC 9110 §8.8.1: the bytes differ from the object's). Anything else passes
 * untouched.
 */
export function compress(config: YatagarasuConfig | ResolvedConfig): Middleware {
  const buckets = new Map<string, ResolvedCompression>()
  for (const bucket of resolveConfig(config).buckets) if (bucket.compression) buckets.set(bucket.name, bucket.compression)
  const formats = new Map(codings().map(({ coding, format }) => [coding, format]))

  return async function compressMiddleware(ctx, next) {
    const response = await next()
    const settings = ctx.bucket && buckets.get(ctx.bucket.name)
    const coding = ctx.encoding
    if (settings === undefined || coding === undefined) return response
    const headers = response.headers
    if (response.status === 304) return withHeaders(response, weakenETag)
    if (response.status !== 200 || response.body === null) return response
    const encoded = headers.get('content-encoding')
    if (encoded !== null && encoded.trim().toLowerCase() !== 'identity') return response
    const length = declaredLength(headers)
    if (length !== undefined && length < settings.minSize) return response
    if (!matchesType(headers.get('content-type'), settings.types)) return response
    const out = new Headers(headers)
    out.delete('content-length')
    out.set('content-encoding', coding)
    weakenETag(out)
    const stream = new CompressionStream(formats.get(coding)! as CompressionFormat)
    return new Response(response.body.pipeThrough(stream), { status: 200, statusText: response.statusText, headers: out })
  }
}

/** The coding to use for an `Accept-Encoding` field: the highest q-value, the first offered on a tie; none for q=0. */
export function negotiate(acceptEncoding: string | null, offered: readonly ContentCoding[] = availableCodings()): ContentCoding | undefined {
  if (acceptEncoding === null) return undefined
  const weights = new Map<string, number>()
  for (const part of acceptEncoding.toLowerCase().split(',')) {
    const [name, ...params] = part.split(';')
    const coding = name!.trim()
    if (coding === '') continue
    let weight = 1
    for (const param of params) {
      const q = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/.exec(param)
      if (q) weight = Number(q[1])
    }
    weights.set(coding, weight)
  }
  let best: ContentCoding | undefined
  let bestWeight = 0
  for (const coding of offered) {
    const weight = weights.get(coding) ?? weights.get('*') ?? 0
    if (weight > bestWeight) {
      best = coding
      bestWeight = weight
    }
  }
  return best
}

/** Whether a `Content-Type` is one of `types` (`type/subtype`, or `type/*`). */
export function matchesType(contentType: string | null, types: readonly string[]): boolean {
  if (contentType === null) return false
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  const slash = type.indexOf('/')
  if (slash <= 0) return false
  const wildcard = `${type.slice(0, slash)}/*`
  return types.includes(type) || types.includes(wildcard)
}

/** The content codings this runtime can produce, preferred first. */
export function availableCodings(): ContentCoding[] {
  return codings().map(({ coding }) => coding)
}

function weakenETag(headers: Headers): void {
  const etag = headers.get('etag')
  if (etag !== null && !etag.startsWith('W/')) headers.set('etag', `W/${etag}`)
}

function supports(format: string): boolean {
  try {
    new CompressionStream(format as CompressionFormat)
    return true
  } catch {
    return false
  }
}
