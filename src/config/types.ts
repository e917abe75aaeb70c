import type { ResolvedAuth } from './auth-schema.js'
import type { ResolvedCache } from './cache-schema.js'

/**
 * The configuration accepted by `createYatagarasu` (camelCase). YAML files use the
 * snake_case form of the same names; `parseConfig` converts them.
 */
export interface YatagarasuConfig {
  /** Mount path removed before routing, e.g. `/api/s3` for a Next.js route handler. */
  basePath?: string
  /** At least one bucket. Names and path prefixes must be unique. */
  buckets: BucketConfig[]
}

export interface BucketConfig {
  /** Unique name, used in cache keys, metrics and logs. */
  name: string
  /** Routes `<pathPrefix>/<key>`. The longest matching prefix (per path segment) wins. */
  pathPrefix: string
  s3: S3Config
  /** JWT authentication; absent or `enabled: false` means public. */
  auth?: unknown
  /** Caching of small objects. */
  cache?: unknown
}

export interface S3Config {
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
}

export interface ResolvedS3 {
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
}
