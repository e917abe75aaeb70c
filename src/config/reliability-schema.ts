/**
 * Schemas and resolution of the reliability and abuse controls: the S3 circuit
 * breaker, CORS, IP filters, rate limits and request limits. (Timeouts, retries and
 * replicas are plain fields of the `s3` block, in schema.ts.)
 *
 * As everywhere in the config, messages are written here and never echo a value.
 */
import * as v from 'valibot'
import { parseCidr } from '../net/ip-address.js'
import { bytesOr, ifEnabled, nonEmpty, numberField, positiveInteger, positiveNumber, size, switchable } from './fields.js'
import { fieldPath } from './issues.js'

export interface ResolvedCircuitBreaker {
  readonly failureThreshold: number
  readonly successThreshold: number
  readonly timeoutMs: number
}

export interface ResolvedCors {
  /** Lower-cased. */
  readonly allowedOrigins: readonly string[]
  readonly allowedMethods: readonly string[]
  readonly allowedHeaders: readonly string[]
  readonly exposedHeaders: readonly string[]
  readonly maxAge?: number
  readonly allowCredentials: boolean
}

export interface ResolvedIpFilter {
  readonly allow?: readonly string[]
  readonly deny: readonly string[]
}

export interface ResolvedRateLimit {
  readonly requestsPerSecond: number
  readonly burstSize: number
  readonly key: 'ip' | 'user' | 'global'
}

export interface ResolvedLimits {
  readonly maxUrlLength: number
  readonly maxHeaderSize: number
}

export const DEFAULT_CIRCUIT_BREAKER = { failureThreshold: 5, successThreshold: 2, timeoutSeconds: 30 } as const
export const DEFAULT_CORS_METHODS = ['GET', 'HEAD'] as const
export const DEFAULT_CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Range',
  'If-Range',
  'If-Match',
  'If-None-Match',
  'If-Modified-Since',
  'If-Unmodified-Since',
] as const
export const DEFAULT_CORS_EXPOSED_HEADERS = ['Content-Range', 'ETag', 'Content-Length', 'Accept-Ranges'] as const
export const DEFAULT_MAX_URL_LENGTH = 8 * 1024
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024

// RFC 7230 token: what a header name may be.
const headerName = v.pipe(v.string(), v.check((name) => /^[!#$%&'*+.^_`|~\w-]+$/.test(name), 'must be a header name'))

/** `s3.circuitBreaker`: absent = no breaker. */
export const circuitBreakerSchema = switchable({
  /** Consecutive failures (connection error, timeout, 5xx) that open the circuit. Default 5. */
  failureThreshold: v.optional(positiveInteger),
  /** Successful probes in a row that close it again. Default 2. */
  successThreshold: v.optional(positiveInteger),
  /** Seconds the circuit stays open before one probe is let through. Default 30. */
  timeoutSeconds: v.optional(positiveNumber),
})

// An origin is scheme://host[:port] — no path, no trailing '/': a browser's Origin
// header never has one, so `https://app.example.com/` would silently never match.
// `*` in the host stands for one or more DNS labels.
const ORIGIN = /^[a-z][a-z\d+.-]*:\/\/(?:\[[\da-f:.]+\]|[a-z\d*.-]+)(?::\d{1,5})?$/i

const origin = v.pipe(
  v.string(),
  v.check(
    (value) => value === '*' || value === 'null' || ORIGIN.test(value),
    "must be '*', an origin like https://app.example.com (no path), or a pattern like https://*.example.com",
  ),
)

const corsMethod = v.pipe(
  v.string(),
  v.check((method) => method.toUpperCase() === 'GET' || method.toUpperCase() === 'HEAD', 'must be GET or HEAD (the proxy is read-only)'),
)

/** `buckets[].cors`: absent = no CORS headers, OPTIONS answered with `Allow` only. */
export const corsSchema = v.pipe(
  switchable({
    /** Exact origins (`https://app.example.com`), patterns (`https://*.example.com`) or `'*'`. */
    allowedOrigins: v.pipe(v.array(origin), v.minLength(1, 'must list at least one origin')),
    /** `GET` and/or `HEAD`. Default both. */
    allowedMethods: v.optional(v.pipe(v.array(corsMethod), v.minLength(1, 'must list at least one method'))),
    /** Request headers a preflight may ask for; `'*'` allows any. Default: Authorization, Range and the conditional headers. */
    allowedHeaders: v.optional(v.array(headerName)),
    /** Response headers scripts may read. Default Content-Range, ETag, Content-Length, Accept-Ranges. */
    exposedHeaders: v.optional(v.array(headerName)),
    /** Seconds a browser may cache a preflight answer. Default: not sent. */
    maxAge: v.optional(numberField({ min: 0, whole: true, unit: 'seconds' })),
    /** Allow credentialed requests (cookies, HTTP auth). Default `false`; not with `'*'`. */
    allowCredentials: v.optional(v.boolean()),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    const value = (dataset.value ?? {}) as { allowedOrigins?: unknown; allowCredentials?: unknown }
    if (value.allowCredentials === true && Array.isArray(value.allowedOrigins) && value.allowedOrigins.includes('*')) {
      // The Fetch standard forbids `*` with credentials; reflecting any origin instead
      // would let every site read a signed-in user's objects.
      addIssue({ message: "cannot be used with allowedOrigins '*'; list the origins", path: [fieldPath(dataset.value, 'allowCredentials')] })
    }
  }),
)

const cidr = v.pipe(
  v.string(),
  v.check((text) => parseCidr(text.trim()) !== undefined, 'must be an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)'),
)

/** `buckets[].ipFilter`: deny wins; with `allow`, every other address is refused (403). */
export const ipFilterSchema = v.object({
  // An empty allow list would either open the bucket or close it, depending on how
  // one reads it: refuse it and let the user say which.
  allow: v.optional(v.pipe(v.array(cidr), v.minLength(1, 'must not be empty; omit it to allow every address'))),
  deny: v.optional(v.array(cidr)),
})

const rateLimitingFields = {
  /** Default `true` when the block is present; `false` in a bucket turns the top-level limit off for it. */
  enabled: v.optional(v.boolean()),
  /** Tokens added per second. Required when enabled (at the top level: unless `store` is given). */
  requestsPerSecond: v.optional(positiveNumber),
  /** Bucket size: requests allowed at once. Default `requestsPerSecond` rounded up. */
  burstSize: v.optional(positiveInteger),
  /** Whose bucket: per client IP (default), per JWT subject (`sub`, IP for anonymous requests), or one for all. */
  key: v.optional(v.picklist(['ip', 'user', 'global'], "must be 'ip', 'user' or 'global'")),
}

/**
 * A `rateLimiting` block with `extra` fields: `requestsPerSecond` is required when enabled,
 * unless `mayHoldNoLimit` says the block may leave it out.
 */
function rateLimitBlock<E extends v.ObjectEntries>(extra: E, mayHoldNoLimit: (value: Record<string, unknown>) => boolean) {
  const object = v.object({ ...rateLimitingFields, ...extra })
  return v.pipe(
    object,
    v.rawCheck<v.InferOutput<typeof object>>(({ dataset, addIssue }) => {
      const value = dataset.value as Record<string, unknown> | null | undefined
      if (typeof value !== 'object' || value === null) return
      if (value.enabled !== false && value.requestsPerSecond === undefined && !mayHoldNoLimit(value)) {
        addIssue({ message: 'required', path: [fieldPath(value, 'requestsPerSecond')] })
      }
    }),
  )
}

/** A bucket's `rateLimiting`. */
export const rateLimitingSchema = rateLimitBlock({}, () => false)

/**
 * The top-level `rateLimiting`: the same fields, plus where the token buckets live. With
 * `store` and no `requestsPerSecond` there is no top-level limit; the store serves the
 * buckets' own limits.
 */
export const topRateLimitingSchema = rateLimitBlock(
  {
    /**
     * `memory` (default): this process's; `redis`: shared by every instance using that Redis
     * (the standalone server makes the store; in code pass `rateLimitStore`).
     */
    store: v.optional(v.picklist(['memory', 'redis'], 'must be memory or redis')),
    /** With `store: redis`: where Redis is. Default (standalone server): `cache.redis.redisUrl`. */
    redisUrl: v.optional(nonEmpty),
  },
  (value) => value.store !== undefined,
)

/** Top-level `limits` on what a request may look like before anything else runs. */
export const limitsSchema = v.object({
  /** The longest request target (path and query). Default 8 KiB; longer is 414. */
  maxUrlLength: v.optional(size(8192, '8KB')),
  /** The most header bytes (names, values and separators). Default 16 KiB; more is 431. */
  maxHeaderSize: v.optional(size(16384, '16KB')),
})

export type CircuitBreakerConfig = v.InferOutput<typeof circuitBreakerSchema>
export type CorsConfig = v.InferOutput<typeof corsSchema>
export type IpFilterConfig = v.InferOutput<typeof ipFilterSchema>
export type RateLimitConfig = v.InferOutput<typeof rateLimitingSchema>
export type TopRateLimitConfig = v.InferOutput<typeof topRateLimitingSchema>
export type LimitsConfig = v.InferOutput<typeof limitsSchema>

export const resolveCircuitBreaker = ifEnabled(
  (input: CircuitBreakerConfig): ResolvedCircuitBreaker => ({
    failureThreshold: input.failureThreshold ?? DEFAULT_CIRCUIT_BREAKER.failureThreshold,
    successThreshold: input.successThreshold ?? DEFAULT_CIRCUIT_BREAKER.successThreshold,
    timeoutMs: (input.timeoutSeconds ?? DEFAULT_CIRCUIT_BREAKER.timeoutSeconds) * 1000,
  }),
)

export const resolveCors = ifEnabled(
  (input: CorsConfig): ResolvedCors => ({
    allowedOrigins: input.allowedOrigins.map((o) => o.toLowerCase()),
    allowedMethods: [...new Set((input.allowedMethods ?? DEFAULT_CORS_METHODS).map((m) => m.toUpperCase()))],
    allowedHeaders: input.allowedHeaders ?? [...DEFAULT_CORS_ALLOWED_HEADERS],
    exposedHeaders: input.exposedHeaders ?? [...DEFAULT_CORS_EXPOSED_HEADERS],
    ...(input.maxAge !== undefined && { maxAge: input.maxAge }),
    allowCredentials: input.allowCredentials ?? false,
  }),
)

export function resolveIpFilter(input: v.InferOutput<typeof ipFilterSchema> | undefined): ResolvedIpFilter | undefined {
  if (input === undefined) return undefined
  const deny = (input.deny ?? []).map((c) => c.trim())
  if (input.allow === undefined && deny.length === 0) return undefined
  return { ...(input.allow !== undefined && { allow: input.allow.map((c) => c.trim()) }), deny }
}

/** `undefined` when absent; `false` when explicitly turned off (a bucket opting out of the top-level limit). */
export function resolveRateLimit(input: v.InferOutput<typeof rateLimitingSchema> | undefined): ResolvedRateLimit | false | undefined {
  if (input === undefined) return undefined
  if (input.enabled === false) return false
  const requestsPerSecond = input.requestsPerSecond
  // Only a top-level block naming a `store` may leave it out: no top-level limit.
  if (requestsPerSecond === undefined) return undefined
  return {
    requestsPerSecond,
    burstSize: input.burstSize ?? Math.max(1, Math.ceil(requestsPerSecond)),
    key: input.key ?? 'ip',
  }
}

export function resolveLimits(input: LimitsConfig | undefined): ResolvedLimits {
  return {
    maxUrlLength: bytesOr(input?.maxUrlLength, DEFAULT_MAX_URL_LENGTH),
    maxHeaderSize: bytesOr(input?.maxHeaderSize, DEFAULT_MAX_HEADER_SIZE),
  }
}
