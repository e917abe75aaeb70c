import { chain, compose } from './compose.js'
import { resolveConfig } from './config/resolve.js'
import type { YatagarasuConfig } from './config/types.js'
import type { FetchHandler, Middleware } from './context.js'
import { cache } from './middleware/cache.js'
import type { YatagarasuCache } from './cache/create-cache.js'
import { jwtAuth } from './middleware/jwt-auth.js'
import { readOnly } from './middleware/read-only.js'
import { requestId } from './middleware/request-id.js'
import { routing } from './middleware/routing.js'
import { consoleLogger, type Logger } from './logging/logger.js'
import { s3Origin, type S3OriginOptions } from './middleware/s3-origin.js'
import { cors } from './middleware/cors.js'
import { ipFilter } from './middleware/ip-filter.js'
import { limits } from './middleware/limits.js'
import { rateLimit } from './middleware/rate-limit.js'
import { memoryRateLimitStore, type RateLimitStore } from './stores/rate-limit-store.js'
// server/config
import type { YatagarasuMetrics } from './metrics/collector.js'
import { metrics as metricsMiddleware, s3Metrics } from './middleware/metrics.js'
import { requestLog } from './middleware/request-log.js'
import { imageRequest, imageTransform } from './middleware/images.js'
import type { ImageTransformer } from './images/transformer.js'
import { ConfigError, type ConfigIssue } from './errors.js'
import { compress, compressionRequest } from './middleware/compression.js'
import { redirect } from './middleware/redirect.js'
import { website } from './middleware/website.js'
import type { AuditLog } from './audit/audit-log.js'
import { tracing } from './middleware/tracing.js'
import type { TracerProvider } from '@opentelemetry/api'

export interface YatagarasuOptions {
  /** See {@link S3OriginOptions.fetch}. */
  fetch?: S3OriginOptions['fetch']
  /** See {@link S3OriginOptions.credentialsRuntime}: `{ env: process.env, readFile }` for the built-in credentials providers. */
  credentialsRuntime?: S3OriginOptions['credentialsRuntime']
  /** Receives what clients must not see (JWKS and cache store failures, ...). Default: {@link consoleLogger}. */
  logger?: Logger
  /**
   * The cache for buckets with `cache` enabled: its stores, and `purge()`. Create it with
   * `createCache()` to purge from code, to use Redis or the Web Cache API, or to keep
   * cached objects when the handler is re-created. Default: a memory store per bucket,
   * private to this handler (see docs/caching.md).
   */
  cache?: YatagarasuCache
  /** Where rate-limit token buckets live. Default: memory; `redisRateLimitStore` (`yatagarasu/redis`) shares them between instances. */
  rateLimitStore?: RateLimitStore
  /** Records requests, S3 calls and cache outcomes into these metrics (`createMetrics()`); see docs/server.md. Default: none. */
  metrics?: YatagarasuMetrics
  /** Logs one entry per request (method, bucket, key, status, bytes, duration, cache, user) to this logger. Default: none. */
  requestLog?: Logger
  /**
   * Renders image transforms for buckets with `images` enabled (required then):
   * `sharpTransformer()` from `yatagarasu/images-sharp` on Node, Bun and Deno, or your
   * own implementation of the interface (an edge platform's image service). See docs/images.md.
   */
  imageTransformer?: ImageTransformer
  /**
   * Receives one entry per authorization decision: every request to a bucket with `auth`
   * (allowed or refused, and why) and every refusal by an IP filter. `jsonAuditLog(write)`
   * makes JSON lines. See docs/auth.md#audit-log. Default: none.
   */
  audit?: AuditLog
  /**
   * Where OpenTelemetry spans go (a server span per request; child spans for JWKS
   * fetches, cache lookup and fill, and the S3 request). Default: the provider registered
   * with `@opentelemetry/api`; with none registered, tracing costs next to nothing and
   * records nothing. See docs/operations.md#tracing.
   */
  tracerProvider?: TracerProvider
}

/**
 * Creates the S3 proxy: a Web-standard `(Request, context?) => Promise<Response>`.
 * The config is validated once, here; a problem throws a `ConfigError` naming every
 * offending field. Two handlers share nothing.
 *
 * The preset pipeline is `requestId → tracing → limits → cors → routing → ipFilter → readOnly →
 * rateLimit (ip, global) → jwtAuth → rateLimit (user) → cache → s3Origin`: the
 * cheapest refusals first, nothing reaches the cache or S3 before every check passed
 * (docs/security.md explains the order). When a bucket enables `images`,
 * `imageRequest` precedes `cache` and `imageTransform` follows it. With the `requestLog` and
 * `metrics` options, `requestLog` and `metrics` follow `requestId` and `s3Metrics`
 * precedes `s3Origin`. A bucket with `redirect` adds `redirect` before the cache; with
 * `compression`, `compressionRequest` precedes the cache and `compress` follows it; with
 * `website.fallbackDocument`, `website` wraps everything from there on (`chain`), to run it
 * again for the fallback. Build your own with {@link compose} and the same middlewares.
 *
 * @example
 * const handler = createYatagarasu({
 *   buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3: { bucket: 'assets', region: 'us-east-1', accessKey, secretKey } }],
 * })
 * Bun.serve({ fetch: handler })
 */
export function createYatagarasu(config: YatagarasuConfig, options: YatagarasuOptions = {}): FetchHandler {
  const resolved = resolveConfig(config)
  const logger = options.logger ?? consoleLogger
  checkSharedState(config, options)
  const rateLimitStore = options.rateLimitStore ?? memoryRateLimitStore()
  const imageBuckets = resolved.buckets.flatMap((bucket, index) => (bucket.images ? [index] : []))
  const transformer = options.imageTransformer
  if (imageBuckets.length > 0 && transformer === undefined) {
    throw new ConfigError(
      imageBuckets.map((index) => ({
        path: `buckets[${index}].images`,
        message: "needs an image transformer: pass { imageTransformer: sharpTransformer() } (from 'yatagarasu/images-sharp') to createYatagarasu",
      })),
    )
  }
  // Buckets without images pay nothing: the image middlewares are only in the chain when one has them.
  const images = imageBuckets.length > 0 && transformer !== undefined
  // Likewise redirects, compression and the fallback document.
  const redirects = resolved.buckets.some((bucket) => bucket.redirect)
  const compression = resolved.buckets.some((bucket) => bucket.compression)
  const fallback = resolved.buckets.some((bucket) => bucket.website?.fallbackDocument)
  const origin: Middleware[] = [
    ...(images ? [imageRequest(resolved)] : []),
    ...(redirects
      ? [
          redirect(resolved, {
            logger,
            ...(options.fetch && { fetch: options.fetch }),
            ...(options.credentialsRuntime && { credentialsRuntime: options.credentialsRuntime }),
          }),
        ]
      : []),
    ...(compression ? [compressionRequest(resolved)] : []),
    cache(resolved, { logger, ...(options.cache && { cache: options.cache }) }),
    ...(compression ? [compress(resolved)] : []),
    ...(images ? [imageTransform(resolved, { transformer, logger })] : []),
    ...(options.metrics ? [s3Metrics(options.metrics)] : []),
    s3Origin(resolved, { logger, ...(options.fetch && { fetch: options.fetch }), ...(options.credentialsRuntime && { credentialsRuntime: options.credentialsRuntime }) }),
  ]
  return compose(
    requestId(),
    tracing({ ...(options.tracerProvider && { tracerProvider: options.tracerProvider }) }),
    ...(options.requestLog ? [requestLog(options.requestLog)] : []),
    ...(options.metrics ? [metricsMiddleware(options.metrics)] : []),
    limits(resolved),
    cors(resolved),
    routing(resolved),
    ipFilter(resolved, { ...(options.audit && { audit: options.audit }) }),
    readOnly(),
    rateLimit(resolved, { logger, store: rateLimitStore, keys: ['ip', 'global'] }),
    jwtAuth(resolved, { logger, ...(options.audit && { audit: options.audit }) }),
    rateLimit(resolved, { logger, store: rateLimitStore, keys: ['user'] }),
    ...(fallback ? [website(resolved, chain(...origin))] : origin),
  )
}

/**
 * Settings of the standalone server that a handler can't honour by itself: Redis and
 * disk stores are Node-only modules (never in the core or edge bundle), so they must be
 * passed in, made with `yatagarasu/redis` and `yatagarasu/disk`.
 */
function checkSharedState(config: YatagarasuConfig, options: YatagarasuOptions): void {
  const issues: ConfigIssue[] = []
  if (config.rateLimiting?.store === 'redis' && options.rateLimitStore === undefined) {
    issues.push({
      path: 'rateLimiting.store',
      message: "redis needs a store passed in: { rateLimitStore: redisRateLimitStore({ client }) } (from 'yatagarasu/redis'); the standalone server makes it",
    })
  }
  const layers = (config as { cache?: { cacheLayers?: unknown } }).cache?.cacheLayers
  if (Array.isArray(layers) && options.cache === undefined) {
    for (const layer of layers.filter((name) => name === 'disk' || name === 'redis')) {
      issues.push({
        path: 'cache.cacheLayers',
        message: `${String(layer)} is not available to a handler by itself (never in the edge bundle): pass { cache: createCache({ store: layeredStore([...]) }) } with ${layer === 'disk' ? "diskStore from 'yatagarasu/disk'" : "redisStore from 'yatagarasu/redis'"}, or run the standalone server`,
      })
    }
  }
  if (issues.length > 0) throw new ConfigError(issues)
}
