/**
 * The standalone server's top-level `cache` block — the original Yatagarasu's shape:
 * which layers (`cache_layers`, in order) and each layer's settings — and where the
 * rate-limit token buckets live (`rate_limiting.store`). Validated by `parseConfig`
 * with the other server blocks, then resolved to {@link CacheSettings}.
 */
import * as v from 'valibot'
import type { ParsedConfig } from '../config/parse.js'
import type { ConfigIssue } from '../errors.js'
import { DEFAULT_CACHE_TTL } from '../config/cache-schema.js'
import { nonEmpty as text, numberField, seconds } from '../config/fields.js'

export type CacheLayerName = 'memory' | 'disk' | 'redis'

/** The `cache` block resolved: sizes in bytes, times in seconds. */
export interface CacheSettings {
  /** Checked in this order, filled on the way back. */
  readonly layers: readonly CacheLayerName[]
  readonly memory: { readonly maxSize: number; readonly maxItemSize: number; readonly defaultTtl: number }
  /** Present when `disk` is a layer. */
  readonly disk?: { readonly directory: string; readonly maxSize: number }
  /** Present when `redis` is a layer, or `cache.redis` is given (the rate limits may use it). */
  readonly redis?: RedisSettings
}

export interface RedisSettings {
  readonly url: string
  /** Empty or absent: none (or the one in the URL). */
  readonly password?: string
  readonly database: number
  readonly keyPrefix: string
  /** At most this long in Redis, whatever the bucket's TTL; absent: the bucket's TTL. */
  readonly maxTtl?: number
}

/** Where rate-limit token buckets live. */
export type RateLimitStoreSettings =
  | { readonly kind: 'memory' }
  | { readonly kind: 'redis'; readonly url: string; readonly password?: string; readonly database: number; readonly keyPrefix: string }

export const DEFAULT_MEMORY_CACHE_MB = 256
export const DEFAULT_MEMORY_ITEM_MB = 10
export const DEFAULT_DISK_CACHE_MB = 10240
export const DEFAULT_REDIS_PREFIX = 'yatagarasu:'

const MB = 1024 * 1024
const LAYER_NAMES = ['memory', 'disk', 'redis'] as const

const megabytes = numberField({ positive: true, unit: 'megabytes' })

/** The `cache` block's schema, for `parseConfig`'s `blocks` (YAML snake_case). */
export const cacheBlock = v.optional(
  v.object({
    cacheLayers: v.optional(
      v.pipe(
        v.array(v.picklist(LAYER_NAMES, 'must be memory, disk or redis')),
        v.minLength(1, 'must name at least one layer (memory, disk, redis)'),
        v.check((layers) => new Set(layers).size === layers.length, 'must not name a layer twice'),
      ),
    ),
    memory: v.optional(
      v.object({
        maxCacheSizeMb: v.optional(megabytes),
        maxItemSizeMb: v.optional(megabytes),
        defaultTtlSeconds: v.optional(seconds),
      }),
    ),
    disk: v.optional(
      v.object({
        cacheDir: v.optional(text),
        maxDiskCacheSizeMb: v.optional(megabytes),
      }),
    ),
    redis: v.optional(
      v.object({
        // `${REDIS_URL:-}` may leave it empty: then it counts as not given.
        redisUrl: v.optional(v.pipe(v.string(), v.trim())),
        redisPassword: v.optional(v.string()),
        redisDb: v.optional(v.pipe(v.number(), v.check((n) => Number.isInteger(n) && n >= 0 && n <= 15, 'must be a database number from 0 to 15'))),
        redisKeyPrefix: v.optional(v.string()),
        redisTtlSeconds: v.optional(seconds),
      }),
    ),
  }),
)

type CacheBlock = NonNullable<v.InferOutput<typeof cacheBlock>>
interface TopRateLimiting {
  store?: 'memory' | 'redis'
  redisUrl?: string
}

/** The `cache` block resolved; `undefined` without one (then each bucket has a memory store of its `max_size`). */
export function resolveCacheSettings(config: ParsedConfig): CacheSettings | undefined {
  const block = config.cache as CacheBlock | undefined
  if (block === undefined) return undefined
  const layers = block.cacheLayers ?? ['memory']
  const redisUrl = nonEmpty(block.redis?.redisUrl)
  return {
    layers,
    memory: {
      maxSize: Math.floor((block.memory?.maxCacheSizeMb ?? DEFAULT_MEMORY_CACHE_MB) * MB),
      maxItemSize: Math.floor((block.memory?.maxItemSizeMb ?? DEFAULT_MEMORY_ITEM_MB) * MB),
      defaultTtl: block.memory?.defaultTtlSeconds ?? DEFAULT_CACHE_TTL,
    },
    ...(layers.includes('disk') && {
      disk: { directory: block.disk?.cacheDir ?? '', maxSize: Math.floor((block.disk?.maxDiskCacheSizeMb ?? DEFAULT_DISK_CACHE_MB) * MB) },
    }),
    ...(redisUrl !== undefined && {
      redis: {
        url: redisUrl,
        ...(nonEmpty(block.redis?.redisPassword) !== undefined && { password: block.redis!.redisPassword! }),
        database: block.redis?.redisDb ?? 0,
        keyPrefix: block.redis?.redisKeyPrefix ?? DEFAULT_REDIS_PREFIX,
        ...(block.redis?.redisTtlSeconds !== undefined && { maxTtl: block.redis.redisTtlSeconds }),
      },
    }),
  }
}

/** `rate_limiting.store`: `redis` takes `rate_limiting.redis_url`, else `cache.redis`'s connection. */
export function resolveRateLimitStore(config: ParsedConfig): RateLimitStoreSettings {
  const top = config.rateLimiting as TopRateLimiting | undefined
  if (top?.store !== 'redis') return { kind: 'memory' }
  const cache = resolveCacheSettings(config)?.redis
  const url = nonEmpty(top.redisUrl) ?? cache?.url ?? ''
  const own = nonEmpty(top.redisUrl) !== undefined
  return {
    kind: 'redis',
    url,
    ...(!own && cache?.password !== undefined && { password: cache.password }),
    database: own ? 0 : (cache?.database ?? 0),
    keyPrefix: `${cache?.keyPrefix ?? DEFAULT_REDIS_PREFIX}ratelimit:`,
  }
}

/** Checks across the blocks: what a layer or store needs and was not given. */
export function checkCacheSettings(config: ParsedConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const block = config.cache as CacheBlock | undefined
  const layers = block?.cacheLayers ?? []
  if (layers.includes('disk') && block?.disk?.cacheDir === undefined) {
    issues.push({ path: 'cache.disk.cacheDir', message: 'required when cache_layers has disk' })
  }
  if (layers.includes('redis') && nonEmpty(block?.redis?.redisUrl) === undefined) {
    issues.push({ path: 'cache.redis.redisUrl', message: 'required when cache_layers has redis' })
  }
  const top = config.rateLimiting as TopRateLimiting | undefined
  if (top?.store === 'redis' && nonEmpty(top.redisUrl) === undefined && nonEmpty(block?.redis?.redisUrl) === undefined) {
    issues.push({ path: 'rateLimiting.redisUrl', message: 'required with store: redis (or give cache.redis.redis_url)' })
  }
  return issues
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}
