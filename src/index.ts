/**
 * The `yatagarasu` entry: the handler factory, the middlewares to compose your own, the
 * stores, the config functions, the errors, and their types. Helpers (IP parsing,
 * the Prometheus registry, the line logger, redaction, body observers, the cache entry
 * codec...) stay internal so they can change; test/package/public-api.test.ts lists every name.
 */
// the handler
export { createYatagarasu, type YatagarasuOptions } from './create-yatagarasu.js'
export { chain, compose } from './compose.js'
export type { CacheStatus, FetchHandler, HandlerContext, Middleware, Next, PlatformArgument, RequestContext } from './context.js'

// config
export { parseConfig, type ParseConfigOptions, type ParsedConfig } from './config/parse.js'
export { resolveConfig } from './config/resolve.js'
export type {
  BucketConfig,
  ResolvedBucket,
  ResolvedConfig,
  ResolvedS3,
  ResolvedS3Connection,
  ResolvedS3Target,
  S3Config,
  S3ReplicaConfig,
  S3ReplicatedConfig,
  S3SingleConfig,
  YatagarasuConfig,
} from './config/types.js'
export type {
  CircuitBreakerConfig,
  CorsConfig,
  IpFilterConfig,
  LimitsConfig,
  RateLimitConfig,
  ResolvedCircuitBreaker,
  ResolvedCors,
  ResolvedIpFilter,
  ResolvedLimits,
  ResolvedRateLimit,
} from './config/reliability-schema.js'
export type {
  AuthConfig,
  ClaimOperator,
  ClaimRule,
  ClaimValue,
  JwtConfig,
  PublicJwk,
  ResolvedAuth,
  ResolvedJwt,
  ResolvedPublicKey,
  TokenSource,
} from './config/auth-schema.js'
export type { JwtAlgorithm } from './auth/algorithms.js'
export type { CacheConfig, ResolvedCache } from './config/cache-schema.js'
export type { ImagesConfig, ResolvedImages } from './config/images-schema.js'
export type { ResolvedWebsite, WebsiteConfig } from './config/website-schema.js'
export type { RedirectConfig, ResolvedRedirect } from './config/redirect-schema.js'
export type { CompressionConfig, ResolvedCompression } from './config/compression-schema.js'

// middlewares, in the preset pipeline's order
export { requestId, type RequestIdOptions } from './middleware/request-id.js'
export { tracing, type TracingOptions } from './middleware/tracing.js'
export { requestLog, type RequestLogOptions } from './middleware/request-log.js'
export { metrics, s3Metrics } from './middleware/metrics.js'
export { errorMapping } from './middleware/error-mapping.js'
export { limits } from './middleware/limits.js'
export { cors } from './middleware/cors.js'
export { routing } from './middleware/routing.js'
export { ipFilter, type IpFilterOptions } from './middleware/ip-filter.js'
export { readOnly } from './middleware/read-only.js'
export { rateLimit, type RateLimitOptions } from './middleware/rate-limit.js'
export { jwtAuth, type JwtAuthOptions } from './middleware/jwt-auth.js'
export { website } from './middleware/website.js'
export { imageRequest, imageTransform, type ImageTransformOptions } from './middleware/images.js'
export { redirect, type RedirectOptions } from './middleware/redirect.js'
export { compress, compressionRequest } from './middleware/compression.js'
export { cache, type CacheOptions } from './middleware/cache.js'
export { s3Origin, type S3OriginOptions } from './middleware/s3-origin.js'
export type { FetchFunction } from './s3/s3-client.js'
export type { AwsCredentials, CredentialsProvider } from './s3/credentials.js'
export type { CredentialsRuntime } from './s3/credential-providers.js'

// cache and stores
export {
  createCache,
  type CacheBucket,
  type CacheBucketStats,
  type CacheLayerStats,
  type CacheStats,
  type CacheStoreFactory,
  type CreateCacheOptions,
  type PurgeTarget,
  type YatagarasuCache,
} from './cache/create-cache.js'
export type { CacheEntry, CacheEntryMeta, CacheStore, StreamedCacheEntry } from './cache/store.js'
export { memoryStore, type MemoryStore, type MemoryStoreOptions } from './stores/memory.js'
export { tieredStore } from './stores/tiered.js'
export { layeredStore, type CacheLayer, type LayeredStore, type LayeredStoreOptions, type LayerStats } from './stores/layered.js'
// The admin API's operations (purge, stats, prewarm, reload) for embedders; the standalone server serves them with `admin.enabled`.
export { adminApi, type AdminApi, type AdminApiOptions, type PrewarmJob, type PrewarmState } from './admin/admin-api.js'
export { prewarmCache, type PrewarmOptions, type PrewarmProgress } from './admin/prewarm.js'
export type { PurgeBus, PurgeMessage } from './cache/purge-bus.js'
export { webCacheStore, type WebCacheStoreOptions } from './stores/web-cache.js'
export {
  memoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
  type RateLimitDecision,
  type RateLimitRule,
  type RateLimitStore,
} from './stores/rate-limit-store.js'

// observability
export { consoleLogger, silentLogger, type Logger } from './logging/logger.js'
export { createMetrics, type CacheStoreStats, type MetricsOptions, type YatagarasuMetrics } from './metrics/collector.js'
export type { Collect, Counter, Gauge, Histogram, Labels, MetricRegistry } from './metrics/registry.js'
export { jsonAuditLog, type AuditEntry, type AuditLog, type AuditReason, type JsonAuditLogOptions } from './audit/audit-log.js'

// images
export { signImageUrl } from './images/signature.js'
export { lazyTransformer, type ImageLimits, type ImageTransformer, type TransformedImage } from './images/transformer.js'
export type { ImageFit, ImageFormat, ImageOperation } from './images/params.js'

// errors
export {
  BadGatewayError,
  BadRequestError,
  ClientClosedRequestError,
  ConfigError,
  ForbiddenError,
  GatewayTimeoutError,
  HttpError,
  isYatagarasuError,
  MethodNotAllowedError,
  NotFoundError,
  PreconditionFailedError,
  RangeNotSatisfiableError,
  RequestHeaderFieldsTooLargeError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UriTooLongError,
  YatagarasuError,
  type ConfigIssue,
} from './errors.js'
export { InvalidImageParameterError } from './images/params.js'
export { ImageTooLargeError, UnsupportedImageError } from './images/transformer.js'
