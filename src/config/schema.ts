/**
 * The config schema, and the config types derived from it (one source: what is
 * validated is what is typed). Valibot was chosen because it is small and
 * tree-shakable, has no dependencies, runs on every JS runtime, and reports every
 * issue at once with its path — which is what a user fixing a config file wants.
 *
 * Messages are written here, never taken from the input: a wrong `secretKey` must
 * not be echoed back in an error. They name fields in camelCase; `parseConfig`
 * respells them for a snake_case file.
 */
import * as v from 'valibot'
import { authSchema } from './auth-schema.js'
import { httpUrl, nonEmpty, numberField, seconds } from './fields.js'
import { fieldPath } from './issues.js'
import { cacheSchema } from './cache-schema.js'
import { imagesSchema } from './images-schema.js'
import { compressionSchema } from './compression-schema.js'
import { redirectSchema } from './redirect-schema.js'
import { websiteSchema } from './website-schema.js'
import { circuitBreakerSchema, corsSchema, ipFilterSchema, limitsSchema, rateLimitingSchema, topRateLimitingSchema } from './reliability-schema.js'
import type { CredentialsProvider } from '../s3/credentials.js'

const endpointUrl = httpUrl('must be an absolute http(s) URL without query or fragment')

const pathPrefix = v.pipe(
  v.string(),
  v.check((p) => p.startsWith('/'), "must start with '/'"),
  v.check((p) => !/[?#]/.test(p), "must not contain '?' or '#'"),
  v.check((p) => !p.split('/').some((s) => s === '.' || s === '..'), "must not contain '.' or '..' segments"),
)

const replicaSchema = v.object({
  /** Unique within the bucket; used in logs. */
  name: nonEmpty,
  bucket: nonEmpty,
  region: nonEmpty,
  endpoint: v.optional(endpointUrl),
  /** The replica's own keys; without them (and with `s3.credentials`) it signs with the provider's current credentials. */
  accessKey: v.optional(nonEmpty),
  secretKey: v.optional(nonEmpty),
  sessionToken: v.optional(nonEmpty),
  /** Lower is tried first. Default: the position in the list. */
  priority: v.optional(numberField({ whole: true })),
  /** Seconds to wait for this replica's response headers. Default: the bucket's `timeout`. */
  timeout: v.optional(seconds),
})

/** A built-in credentials provider, by name (docs/configuration.md#refreshing-credentials). */
const builtInCredentialsSchema = v.object({
  provider: v.picklist(['env', 'container', 'web_identity', 'imds'], 'must be env, container, web_identity or imds'),
  /** web_identity: the role to assume. Default: `AWS_ROLE_ARN`. */
  roleArn: v.optional(nonEmpty),
  /** web_identity: the role session's name. Default: `AWS_ROLE_SESSION_NAME`, else `yatagarasu`. */
  sessionName: v.optional(nonEmpty),
})

const credentialsSchema = v.union(
  [v.custom<CredentialsProvider>((value) => typeof value === 'function', 'must be a function'), builtInCredentialsSchema],
  'must be a provider function or { provider: env | container | web_identity | imds }',
)

const s3Fields = v.object({
  /** The S3 bucket name. */
  bucket: v.optional(nonEmpty),
  /** The bucket's region, used for signing, e.g. `us-east-1`. */
  region: v.optional(nonEmpty),
  /**
   * An S3-compatible endpoint such as `http://127.0.0.1:9000` (MinIO, R2, s3rver).
   * Requests use path-style URLs. Without it, AWS virtual-hosted URLs are used.
   */
  endpoint: v.optional(endpointUrl),
  accessKey: v.optional(nonEmpty),
  secretKey: v.optional(nonEmpty),
  /** For temporary credentials (STS). */
  sessionToken: v.optional(nonEmpty),
  /**
   * Instead of `accessKey`/`secretKey`: credentials that refresh before they expire, from
   * a function of your own (`() => Promise<{ accessKeyId, secretAccessKey, sessionToken?,
   * expiration? }>`) or a built-in provider. With `replicas`, every replica without keys
   * of its own signs with them.
   */
  credentials: v.optional(credentialsSchema),
  /** Seconds to wait for S3's response headers before answering 504. Default 30. */
  timeout: v.optional(seconds),
  /** Seconds without a body chunk from S3, once streaming, before the transfer is aborted. Default 30. */
  idleTimeout: v.optional(seconds),
  /** Extra attempts (GET/HEAD, before any byte reached the client) on connection errors, 5xx and timeouts. Default 0. */
  retries: v.optional(numberField({ min: 0, max: 10, whole: true })),
  /** Per S3 target; absent = none. */
  circuitBreaker: v.optional(circuitBreakerSchema),
  /** S3 targets tried by `priority` (lower first) when one fails or its circuit is open. */
  replicas: v.optional(
    v.pipe(v.array(replicaSchema), v.minLength(1, 'must list at least one replica; omit it to use the s3 fields'), uniqueItems<S3ReplicaConfig>('name', 'replicas')),
  ),
})

/** Without `replicas`, the connection fields name the one S3 target and are required. */
const TARGET_FIELDS = ['bucket', 'region', 'accessKey', 'secretKey'] as const
/** With `credentials`, the keys come from the provider. */
const CREDENTIALS_TARGET_FIELDS = ['bucket', 'region'] as const
type S3Fields = v.InferOutput<typeof s3Fields>
type Replicated = S3Fields & { replicas: S3ReplicaConfig[] }
type Single =
  | (S3Fields & Required<Pick<S3Fields, (typeof TARGET_FIELDS)[number]>> & { replicas?: undefined })
  | (S3Fields & Required<Pick<S3Fields, (typeof CREDENTIALS_TARGET_FIELDS)[number] | 'credentials'>> & { replicas?: undefined })

export const s3Schema = v.pipe(
  s3Fields,
  v.rawCheck(({ dataset, addIssue }) => {
    const value = dataset.value as Record<string, unknown> | null | undefined
    if (typeof value !== 'object' || value === null) return
    if (value.credentials !== undefined) {
      for (const field of ['accessKey', 'secretKey', 'sessionToken'] as const) {
        if (value[field] !== undefined) addIssue({ message: 'must not be given with credentials', path: [fieldPath(value, field)] })
      }
    }
    if (Array.isArray(value.replicas)) {
      // A replica signs with its own keys (both of them), or with the bucket's credentials.
      value.replicas.forEach((replica: unknown, index) => {
        if (typeof replica !== 'object' || replica === null) return
        const fields = replica as Record<string, unknown>
        const own = fields.accessKey !== undefined || fields.secretKey !== undefined || fields.sessionToken !== undefined
        if (!own && value.credentials !== undefined) return
        for (const field of ['accessKey', 'secretKey'] as const) {
          if (fields[field] === undefined) {
            addIssue({
              message: value.credentials !== undefined ? "required with the replica's own keys" : 'required (or s3.credentials)',
              path: [fieldPath(value, 'replicas'), { type: 'array', origin: 'value', input: value.replicas as unknown[], key: index, value: replica }, fieldPath(fields, field)],
            })
          }
        }
      })
    }
    if (value.replicas !== undefined) return
    const required = value.credentials !== undefined ? CREDENTIALS_TARGET_FIELDS : TARGET_FIELDS
    for (const field of required) if (value[field] === undefined) addIssue({ message: 'required', path: [fieldPath(value, field)] })
  }),
  v.guard(
    (s3): s3 is Single | Replicated =>
      s3.replicas !== undefined || (s3.credentials !== undefined ? CREDENTIALS_TARGET_FIELDS : TARGET_FIELDS).every((field) => s3[field] !== undefined),
  ),
)

export const bucketSchema = v.object({
  /** Unique name, used in cache keys, metrics and logs. */
  name: nonEmpty,
  /** Routes `<pathPrefix>/<key>`. The longest matching prefix (per path segment) wins. */
  pathPrefix,
  /** Where the objects are: the connection fields, or `replicas`. */
  s3: s3Schema,
  /** JWT authentication; absent or `enabled: false` means public. */
  auth: v.optional(authSchema),
  /**
   * With `auth`: `private` (default) makes 200/206/304 responses say `Cache-Control:
   * private` (S3's `max-age` kept, its `public` dropped), so no shared cache in front (CDN,
   * corporate proxy) stores what a token unlocked; `public` passes S3's `Cache-Control`
   * on as it is. No effect without `auth`.
   */
  cacheControl: v.optional(v.picklist(['private', 'public'], 'must be private or public')),
  /** Caching of small objects; see docs/caching.md. */
  cache: v.optional(cacheSchema),
  /** CORS: preflights answered without S3, `Access-Control-*` headers on every response. */
  cors: v.optional(corsSchema),
  /** CIDR allow/deny lists for the client IP (403 when refused). */
  ipFilter: v.optional(ipFilterSchema),
  /** Replaces the top-level `rateLimiting` for this bucket (with its own counters); `{ enabled: false }` turns it off. */
  rateLimiting: v.optional(rateLimitingSchema),
  /** On-the-fly image transforms (`?w=800&fmt=webp`), off by default; see docs/images.md. */
  images: v.optional(imagesSchema),
  /** Index documents for paths ending in `/` and a fallback for missing keys; see docs/website.md. */
  website: v.optional(websiteSchema),
  /** 307 to a presigned S3 URL instead of streaming (large objects); see docs/redirect.md. */
  redirect: v.optional(redirectSchema),
  /** gzip (br where offered) for compressible types, per `Accept-Encoding`; see docs/caching.md#compression. */
  compression: v.optional(compressionSchema),
})

export const configSchema = v.object({
  /** Mount path removed before routing, e.g. `/api/s3` for a Next.js route handler. */
  basePath: v.optional(pathPrefix),
  /** At least one bucket. Names and path prefixes must be unique. */
  buckets: v.pipe(
    v.array(bucketSchema),
    v.minLength(1, 'at least one bucket is required'),
    uniqueItems<BucketConfig>('name', 'buckets'),
    uniqueItems<BucketConfig>('pathPrefix', 'buckets', normalizePrefix),
  ),
  /**
   * Token-bucket rate limit for every bucket (429 + `Retry-After`); a bucket's own block
   * replaces it. `store: redis` shares the token buckets between instances.
   */
  rateLimiting: v.optional(topRateLimitingSchema),
  /** Limits on the request itself (URL length 414, header size 431). */
  limits: v.optional(limitsSchema),
})

/** The configuration `createYatagarasu` takes (camelCase). YAML files use the snake_case form of the same names. */
export type YatagarasuConfig = v.InferOutput<typeof configSchema>
export type BucketConfig = v.InferOutput<typeof bucketSchema>
/** One S3 target given by the connection fields, or several `replicas` (then the connection fields are optional and unused). */
export type S3Config = v.InferOutput<typeof s3Schema>
export type S3SingleConfig = Single
export type S3ReplicatedConfig = Replicated
export type S3ReplicaConfig = v.InferOutput<typeof replicaSchema>
/** `s3.credentials`: a provider function, or a built-in provider by name. */
export type S3CredentialsConfig = v.InferOutput<typeof credentialsSchema>
export type BuiltInCredentialsConfig = v.InferOutput<typeof builtInCredentialsSchema>

/** `/cdn/` → `/cdn`, `/` → `''`. Prefixes are literal (decoded) path text. */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '')
}

/** Reports each item whose `field` (normalised) repeats an earlier item's, with the other problems. */
function uniqueItems<T>(field: keyof T & string, list: string, normalize: (value: string) => string = (value) => value) {
  return v.rawCheck<T[]>(({ dataset, addIssue }) => {
    if (!Array.isArray(dataset.value)) return
    const seen = new Map<string, number>()
    dataset.value.forEach((item: unknown, key) => {
      const value = (item as Record<string, unknown> | null)?.[field]
      if (typeof value !== 'string') return
      const first = seen.get(normalize(value))
      if (first === undefined) seen.set(normalize(value), key)
      else addIssue({ message: `duplicates ${list}[${first}].${field}`, path: [{ type: 'array', origin: 'value', input: dataset.value as unknown[], key, value: item }, fieldPath(item, field)] })
    })
  })
}
