import { isNotModified } from '../cache/conditional.js'
import type { ResolvedImages } from '../config/images-schema.js'
import { resolveConfig } from '../config/resolve.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import type { Middleware, RequestContext } from '../context.js'
import { ForbiddenError, isHttpError, ServiceUnavailableError } from '../errors.js'
import { declaredLength } from '../http/declared-length.js'
import { withHeaders } from '../http/mutable-response.js'
import { concurrencyLimit, type ConcurrencyLimit } from '../images/concurrency.js'
import {
  canonicalOperation,
  chooseFormat,
  hasImageParameters,
  parseImageRequest,
  toOperation,
  type ImageFormat,
} from '../images/params.js'
import { readSource } from '../images/read-source.js'
import { importSigningKey, SIGNATURE_PARAMETER, signedText, verifySignature } from '../images/signature.js'
import { ImageTooLargeError, type ImageLimits, type ImageTransformer } from '../images/transformer.js'
import { describeError } from '../logging/describe-error.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { isObjectHeader } from '../s3/object-headers.js'

/**
 * Reads an image transform from the query string, for buckets with `images` enabled:
 * checks the signature (403) when the bucket has a `signingKey`, validates the
 * parameters (400 naming the first bad one), picks the output format (`fmt=auto`
 * from `Accept`), and records the transform on the context for the cache (a variant
 * key) and {@link imageTransform}. Requests without image parameters, and buckets
 * without `images`, pass untouched. Place it after authentication and before the
 * cache, so that a cached variant is served only to requests allowed to ask for it.
 *
 * @example
 * compose(requestId(), errorMapping(), routing(config), readOnly(), jwtAuth(config),
 *   imageRequest(config), cache(config), imageTransform(config, { transformer }), s3Origin(config))
 */
export function imageRequest(config: YatagarasuConfig | ResolvedConfig): Middleware {
  const buckets = new Map<string, { readonly images: ResolvedImages; readonly key: (() => Promise<CryptoKey>) | undefined }>()
  for (const bucket of resolveConfig(config).buckets) {
    if (bucket.images === undefined) continue
    const signingKey = bucket.images.signingKey
    buckets.set(bucket.name, { images: bucket.images, key: signingKey === undefined ? undefined : once(() => importSigningKey(signingKey)) })
  }

  return async function imageRequestMiddleware(ctx, next) {
    const bucket = ctx.bucket && buckets.get(ctx.bucket.name)
    if (bucket === undefined || ctx.url.search === '' || !hasImageParameters(ctx.url.searchParams)) return next()
    const params = ctx.url.searchParams
    if (bucket.key !== undefined) {
      const signed = await verifySignature(await bucket.key(), signedText(rawPathOf(ctx), params), params.get(SIGNATURE_PARAMETER))
      if (!signed) throw new ForbiddenError('The image transform URL is not signed, or its signature is wrong')
    }
    const request = parseImageRequest(params, bucket.images)
    const operation = toOperation(request, chooseFormat(request.format, ctx.request.headers.get('accept')))
    ctx.image = operation
    ctx.variant = canonicalOperation(operation)
    const response = await next()
    // The chosen format depends on Accept: caches in front must keep one copy per Accept.
    return request.format === 'auto' ? withHeaders(response, (headers) => headers.append('Vary', 'Accept')) : response
  }
}

export interface ImageTransformOptions {
  /** Does the transforms: `sharpTransformer()` from `yatagarasu/images-sharp`, or your own. */
  transformer: ImageTransformer
  /** Receives transformer failures other than a bad or oversized source. Default: {@link consoleLogger}. */
  logger?: Logger
}

/** Source types transformed; any other object is passed through untouched. */
const TRANSFORMABLE = new Set(['image/jpeg', 'image/jpg', 'image/png', 'image/webp', 'image/avif'])
const CONTENT_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
}
// Describe the object, not this rendition of it: dropped from a variant's headers.
const NOT_KEPT = new Set(['content-type', 'content-length', 'content-range', 'content-encoding', 'content-disposition', 'etag'])
// RFC 9110 §15.4.5: what a 304 carries (as the cache answers it).
const NOT_MODIFIED_HEADERS = ['etag', 'last-modified', 'cache-control', 'expires'] as const

/**
 * Performs the transform {@link imageRequest} recorded: fetches the whole original
 * from S3 (through the rest of the chain), reads it up to `maxSourceSize` (a transform
 * needs every byte), has the transformer render the variant and answers it with an
 * ETag derived from the original's ETag and the parameters, so `If-None-Match` gets a
 * 304 (without transforming). At most `maxConcurrent` transforms run per bucket;
 * beyond that, 503 with `Retry-After` before anything is fetched. Objects that are not
 * JPEG, PNG, WebP or AVIF pass through untouched. Place it after the cache and before
 * `s3Origin`.
 */
export function imageTransform(config: YatagarasuConfig | ResolvedConfig, options: ImageTransformOptions): Middleware {
  const { transformer } = options
  const logger = options.logger ?? consoleLogger
  const buckets = new Map<string, { readonly images: ResolvedImages; readonly limits: ImageLimits; readonly running: ConcurrencyLimit }>()
  for (const bucket of resolveConfig(config).buckets) {
    const images = bucket.images
    if (images === undefined) continue
    const limits = { maxPixels: images.maxPixels, maxWidth: images.maxWidth, maxHeight: images.maxHeight }
    buckets.set(bucket.name, { images, limits, running: concurrencyLimit(images.maxConcurrent) })
  }

  return async function imageTransformMiddleware(ctx, next) {
    const operation = ctx.image
    const bucket = ctx.bucket && buckets.get(ctx.bucket.name)
    if (operation === undefined || bucket === undefined) return next()
    const release = bucket.running.tryAcquire()
    if (release === undefined) {
      throw new ServiceUnavailableError('Too many image transforms at once; try again shortly', { headers: { 'Retry-After': '1' } })
    }
    try {
      // The whole current object, whatever Range or validators the client sent: those
      // are about the variant, and are answered here.
      ctx.originRequest = { method: 'GET', headers: new Headers() }
      const source = await next()
      if (source.status !== 200 || source.body === null || !isTransformable(source.headers)) return source
      const headers = variantHeaders(source.headers)
      const etag = await variantEtag(source.headers, ctx.variant ?? '')
      if (etag !== undefined) headers.set('etag', etag)
      if (isNotModified(ctx.request.headers, etag, source.headers.get('last-modified') ?? undefined)) {
        await source.body.cancel().catch(() => {})
        return notModified(headers)
      }
      const read = await readSource(source.body, bucket.images.maxSourceSize, declaredLength(source.headers))
      if (read.tooLarge) throw new ImageTooLargeError(`The source image is larger than ${bucket.images.maxSourceSize} bytes`)
      const started = performance.now()
      const image = await transform(ctx, read.bytes)
      ctx.timings.transform = performance.now() - started
      headers.set('content-type', CONTENT_TYPES[image.format])
      headers.set('content-length', String(image.data.byteLength))
      return new Response(ctx.method === 'HEAD' ? null : (image.data as Uint8Array<ArrayBuffer>), { status: 200, headers })
    } finally {
      release()
    }

    async function transform(ctx: RequestContext, bytes: Uint8Array) {
      try {
        return await transformer.transform(bytes, operation!, bucket!.limits)
      } catch (error) {
        if (!isHttpError(error)) {
          logger.error('image transform failed', { bucket: ctx.bucket?.name, requestId: ctx.requestId, error: describeError(error) })
        }
        throw error
      }
    }
  }
}

function isTransformable(headers: Headers): boolean {
  if (headers.has('content-encoding')) return false
  const type = headers.get('content-type')
  return type !== null && TRANSFORMABLE.has(type.split(';')[0]!.trim().toLowerCase())
}

function variantHeaders(source: Headers): Headers {
  const headers = new Headers()
  source.forEach((value, name) => {
    if (isObjectHeader(name) && !NOT_KEPT.has(name)) headers.set(name, value)
  })
  return headers
}

/**
 * `W/"…"` from the original's ETag and the variant: it changes when either does, so a
 * client's copy is current exactly when both are. Weak, because the bytes of a variant
 * may differ across image library versions while it stays the same image.
 */
async function variantEtag(source: Headers, variant: string): Promise<string | undefined> {
  const original = source.get('etag') ?? source.get('last-modified')
  if (original === null) return undefined
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${original}\u0000${variant}`))
  let hex = ''
  for (const byte of new Uint8Array(digest, 0, 16)) hex += byte.toString(16).padStart(2, '0')
  return `W/"${hex}"`
}

function notModified(variant: Headers): Response {
  const headers = new Headers()
  for (const name of NOT_MODIFIED_HEADERS) {
    const value = variant.get(name)
    if (value !== null) headers.set(name, value)
  }
  return new Response(null, { status: 304, headers })
}

/** The raw request path (no query): what a transform URL's signature covers. */
function rawPathOf(ctx: RequestContext): string {
  let path = ctx.rawPath
  if (path === undefined) {
    // A plain Request: its URL as given, minus the origin.
    const url = ctx.request.url
    const authority = url.indexOf('//')
    const start = authority === -1 ? -1 : url.indexOf('/', authority + 2)
    path = start === -1 ? '/' : url.slice(start)
  }
  const end = path.search(/[?#]/)
  return end === -1 ? path : path.slice(0, end)
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined
  return () => (made ??= make())
}
