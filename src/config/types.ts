import type { ResolvedAuth } from './auth-schema.js'
import type { AuthConfig } from './auth-types.js'
import type { CacheConfig, ResolvedCache } from './cache-schema.js'
import type { ImagesConfig, ResolvedImages } from './images-schema.js'
import type {
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
} from './reliability-schema.js'

/**
 * The configuration accepted by `createYatagarasu` (camelCase). YAML files use the
 * snake_case form of the same names; `parseConfig` converts them.
 */
export interface YatagarasuConfig {
  /** Mount path removed before routing, e.g. `/api/s3` for a Next.js route handler. */
  basePath?: string
  /** At least one bucket. Names and path prefixes must be unique. */
  buckets: BucketConfig[]
  /** Token-bucket rate limit for every bucket (429 + `Retry-After`); a bucket's own block replaces it. */
  rateLimiting?: RateLimitConfig
  /** Limits on the request itself (URL length 414, header size 431). */
  limits?: LimitsConfig
}

export interface BucketConfig {
  /** Unique name, used in cache keys, metrics and logs. */
  name: string
  /** Routes `<pathPrefix>/<key>`. The longest matching prefix (per path segment) wins. */
  pathPrefix: string
  s3: S3Config
  /** JWT authentication; absent or `enabled: false` means public. */
  auth?: AuthConfig
  /** Caching of small objects; see docs/caching.md. */
  cache?: CacheConfig
  /** CORS: preflights answered without S3, `Access-Control-*` headers on every response. */
  cors?: CorsConfig
  /** CIDR allow/deny lists for the client IP (403 when refused). */
  ipFilter?: IpFilterConfig
  /** Replaces the top-level `rateLimiting` for this bucket (with its own counters); `{ enabled: false }` turns it off. */
  rateLimiting?: RateLimitConfig
  /** On-the-fly image transforms (`?w=800&fmt=webp`), off by default; see docs/images.md. */
  images?: ImagesConfig
}

/**
 * Where a bucket's objects are: one S3 target given by the connection fields, or
 * several `replicas` (then the connection fields may stay, for compatibility, but are
 * not used).
 */
export type S3Config = S3SingleConfig | S3ReplicatedConfig

export interface S3SingleConfig extends S3ConnectionConfig, S3ReliabilityConfig {
  replicas?: undefined
}

export interface S3ReplicatedConfig extends Partial<S3ConnectionConfig>, S3ReliabilityConfig {
  /** Tried by `priority` (lower first) when one fails or its circuit is open. */
  replicas: S3ReplicaConfig[]
}

/** One replica: a complete S3 target. */
export interface S3ReplicaConfig extends S3ConnectionConfig {
  /** Unique within the bucket; used in logs. */
  name: string
  /** Lower is tried first. Default: the position in the list. */
  priority?: number
}

export interface S3ReliabilityConfig {
  /** Seconds without a body chunk from S3, once streaming, before the transfer is aborted. Default 30. */
  idleTimeout?: number
  /** Extra attempts (GET/HEAD, before any byte reached the client) on connection errors, 5xx and timeouts. Default 0. */
  retries?: number
  /** Per S3 target; absent = none. */
  circuitBreaker?: CircuitBreakerConfig
}

export interface S3ConnectionConfig {
  /** The S3 bucket name. */
  bucket: string
  /** The bucket's region, used for signing, e.g. `us-east-1`. */
  region: string
  /**
   * An S3-compatible endpoint such as `http://127.0.0.1:9000` (MinIO, R2, s3rver).
   * Requests use path-style URLs. Without it, AWS virtual-hosted URLs are used.
   */
  endpoint?: string
  accessKey: string
  secretKey: string
  /** For temporary credentials (STS). */
  sessionToken?: string
  /** Seconds to wait for S3's response headers before answering 504. Default 30. */
  timeout?: number
}

/** A bucket after validation: defaults applied, prefix normalised. */
export interface ResolvedBucket {
  readonly name: string
  /** Normalised: leading `/`, no trailing `/`; `''` for the root. Matched against decoded path segments. */
  readonly pathPrefix: string
  readonly s3: ResolvedS3
  readonly auth?: ResolvedAuth
  readonly cache?: ResolvedCache
  readonly cors?: ResolvedCors
  readonly ipFilter?: ResolvedIpFilter
  /** This bucket's own limit, or `false` to opt out of the top-level one; absent = the top-level one applies. */
  readonly rateLimiting?: ResolvedRateLimit | false
  /** Present when image transforms are enabled. */
  readonly images?: ResolvedImages
}

/**
 * A bucket's S3 access. The connection fields are those of the primary target
 * (`targets[0]`): the plain `s3` fields, or the first replica by priority.
 */
export interface ResolvedS3 extends ResolvedS3Connection {
  /** The targets in the order they are tried: the replicas by priority, or the plain fields (named `default`). */
  readonly targets: readonly ResolvedS3Target[]
  /** Milliseconds without a body chunk before the stream is aborted. */
  readonly idleTimeoutMs: number
  readonly retries: number
  readonly circuitBreaker?: ResolvedCircuitBreaker
}

export interface ResolvedS3Target extends ResolvedS3Connection {
  readonly name: string
  readonly priority: number
}

export interface ResolvedS3Connection {
  readonly bucket: string
  readonly region: string
  /** Without a trailing `/`; absent for AWS. */
  readonly endpoint?: string
  readonly accessKey: string
  readonly secretKey: string
  readonly sessionToken?: string
  /** Milliseconds until S3's response headers. */
  readonly timeoutMs: number
}

export interface ResolvedConfig {
  /** Normalised like a path prefix; `''` when absent. */
  readonly basePath: string
  readonly buckets: readonly ResolvedBucket[]
  readonly rateLimiting?: ResolvedRateLimit
  readonly limits: ResolvedLimits
}
