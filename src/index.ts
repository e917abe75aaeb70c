export { createYatagarasu, type YatagarasuOptions } from './create-yatagarasu.js'
export { compose } from './compose.js'
export type { CacheStatus, FetchHandler, HandlerContext, Middleware, Next, PlatformArgument, RequestContext } from './context.js'
export { requestId, type RequestIdOptions } from './middleware/request-id.js'
export { errorMapping } from './middleware/error-mapping.js'
export { routing } from './middleware/routing.js'
export { readOnly, ALLOWED_METHODS } from './middleware/read-only.js'
export { s3Origin, type S3OriginOptions } from './middleware/s3-origin.js'
export type { FetchFunction } from './s3/s3-client.js'
export { consoleLogger, silentLogger, type Logger } from './logging/logger.js'
export { resolveConfig } from './config/resolve.js'
export { parseSize } from './config/size.js'
export type {
  BucketConfig,
  ResolvedBucket,
  ResolvedConfig,
  ResolvedS3,
  S3Config,
  YatagarasuConfig,
} from './config/types.js'
export {
  BadGatewayError,
  BadRequestError,
  ClientClosedRequestError,
  ConfigError,
  errorResponse,
  ForbiddenError,
  GatewayTimeoutError,
  HttpError,
  MethodNotAllowedError,
  NotFoundError,
  PreconditionFailedError,
  RangeNotSatisfiableError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  YatagarasuError,
  type ConfigIssue,
} from './errors.js'
// reliability
export { limits } from './middleware/limits.js'
export { cors } from './middleware/cors.js'
export { ipFilter, createIpFilter, type IpFilterOptions } from './middleware/ip-filter.js'
export { rateLimit, type RateLimitOptions } from './middleware/rate-limit.js'
export {
  memoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
  type RateLimitDecision,
  type RateLimitRule,
  type RateLimitStore,
} from './stores/rate-limit-store.js'
export { parseCidr, parseIp, type IpAddress, type IpRange } from './net/ip-address.js'
export { RequestHeaderFieldsTooLargeError, UriTooLongError } from './errors.js'
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
  ResolvedS3Connection,
  ResolvedS3Target,
  S3ReplicaConfig,
  S3ReplicatedConfig,
  S3SingleConfig,
} from './config/types.js'
// auth
export { jwtAuth, type JwtAuthOptions } from './middleware/jwt-auth.js'
export { jsonAuditLog, type AuditEntry, type AuditLog, type AuditReason, type JsonAuditLogOptions } from './audit/audit-log.js'
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
// cache
export { cache, type CacheOptions } from './middleware/cache.js'
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
export { isStreamedEntry, type CacheEntry, type CacheEntryMeta, type CacheStore, type StreamedCacheEntry } from './cache/store.js'
export { encodeEntry, decodeEntry } from './cache/entry-codec.js'
export { memoryStore, type MemoryStore, type MemoryStoreOptions } from './stores/memory.js'
export { tieredStore } from './stores/tiered.js'
export { layeredStore, type CacheLayer, type LayeredStore, type LayeredStoreOptions, type LayerStats } from './stores/layered.js'
export type { PurgeBus, PurgeMessage } from './cache/purge-bus.js'
export { webCacheStore, type WebCacheStoreOptions } from './stores/web-cache.js'
export {
  DEFAULT_CACHE_MAX_ITEM_SIZE,
  DEFAULT_CACHE_MAX_SIZE,
  DEFAULT_CACHE_TTL,
  type CacheConfig,
  type ResolvedCache,
} from './config/cache-schema.js'
export {
  DEFAULT_IMAGES_MAX_CONCURRENT,
  DEFAULT_IMAGES_MAX_DIMENSION,
  DEFAULT_IMAGES_MAX_PIXELS,
  DEFAULT_IMAGES_MAX_SOURCE_SIZE,
  type ImagesConfig,
  type ResolvedImages,
} from './config/images-schema.js'
export { imageRequest, imageTransform, type ImageTransformOptions } from './middleware/images.js'
export {
  IMAGE_FITS,
  IMAGE_FORMATS,
  IMAGE_PARAMETERS,
  InvalidImageParameterError,
  type ImageFit,
  type ImageFormat,
  type ImageOperation,
} from './images/params.js'
export { signImageUrl } from './images/signature.js'
export {
  ImageTooLargeError,
  lazyTransformer,
  UnsupportedImageError,
  type ImageLimits,
  type ImageTransformer,
  type TransformedImage,
} from './images/transformer.js'
// server/config
export { parseConfig, SERVER_BLOCKS, type ParseConfigOptions, type ParsedConfig } from './config/parse.js'
export { metrics, s3Metrics } from './middleware/metrics.js'
export { requestLog, type RequestLogOptions } from './middleware/request-log.js'
export {
  createMetrics,
  type CacheStoreStats,
  type MetricsOptions,
  type YatagarasuMetrics,
} from './metrics/collector.js'
export {
  createRegistry,
  DEFAULT_SECONDS_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  type Collect,
  type Counter,
  type Gauge,
  type Histogram,
  type Labels,
  type MetricRegistry,
} from './metrics/registry.js'
export { lineLogger, type LineLoggerOptions, type LogFormat, type LogLevel } from './logging/line-logger.js'
export { redactFields, redactText, REDACTED } from './logging/redact.js'
export { observeBody, type BodyObserver, type BodyOutcome } from './http/observe-body.js'
