/**
 * The config after validation (defaults applied, prefixes normalised, sizes in bytes,
 * seconds in milliseconds), as the middlewares read it. The config as written is typed
 * from its schema (schema.ts).
 */
import type { ResolvedAuth } from './auth-schema.js'
import type { ResolvedCache } from './cache-schema.js'
import type { ResolvedImages } from './images-schema.js'
import type { ResolvedCompression } from './compression-schema.js'
import type { ResolvedRedirect } from './redirect-schema.js'
import type { ResolvedWebsite } from './website-schema.js'
import type { ResolvedCircuitBreaker, ResolvedCors, ResolvedIpFilter, ResolvedLimits, ResolvedRateLimit } from './reliability-schema.js'

import type { S3CredentialsConfig } from './schema.js'

export type { BuiltInCredentialsConfig, S3CredentialsConfig } from './schema.js'
export type { BucketConfig, S3Config, S3ReplicaConfig, S3ReplicatedConfig, S3SingleConfig, YatagarasuConfig } from './schema.js'

/** A bucket after validation: defaults applied, prefix normalised. */
export interface ResolvedBucket {
  readonly name: string
  /** Normalised: leading `/`, no trailing `/`; `''` for the root. Matched against decoded path segments. */
  readonly pathPrefix: string
  readonly s3: ResolvedS3
  readonly auth?: ResolvedAuth
  /** `public` when the bucket lets shared caches store its authenticated responses; see `cacheControl`. */
  readonly cacheControl?: 'private' | 'public'
  readonly cache?: ResolvedCache
  readonly cors?: ResolvedCors
  readonly ipFilter?: ResolvedIpFilter
  /** This bucket's own limit, or `false` to opt out of the top-level one; absent = the top-level one applies. */
  readonly rateLimiting?: ResolvedRateLimit | false
  /** Present when image transforms are enabled. */
  readonly images?: ResolvedImages
  /** Present when an index or fallback document is set. */
  readonly website?: ResolvedWebsite
  /** Present when presigned redirects are enabled. */
  readonly redirect?: ResolvedRedirect
  /** Present when compression is enabled. */
  readonly compression?: ResolvedCompression
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
  /** `''` when `credentials` is set. */
  readonly accessKey: string
  /** `''` when `credentials` is set. */
  readonly secretKey: string
  readonly sessionToken?: string
  /** Where the keys come from when they refresh (a provider function, or a built-in one by name). */
  readonly credentials?: S3CredentialsConfig
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
