import { LRUCache } from 'lru-cache'

/** A token bucket's refill rate and size. */
export interface RateLimitRule {
  readonly requestsPerSecond: number
  readonly burstSize: number
}

export interface RateLimitDecision {
  readonly allowed: boolean
  /** When refused: milliseconds until the next token. */
  readonly retryAfterMs: number
}

/**
 * Where token buckets live. `consume` takes one token from the bucket `key` (created
 * full on first use). The default is {@link memoryRateLimitStore}; a Redis store
 * (`yatagarasu/redis`) shares the buckets between proxy instances.
 */
export interface RateLimitStore {
  consume(key: string, rule: RateLimitRule): RateLimitDecision | Promise<RateLimitDecision>
}

export interface MemoryRateLimitStoreOptions {
  /**
   * The most token buckets kept. The least recently used are dropped beyond it — a
   * dropped bucket is recreated full, which is exact for buckets idle long enough to
   * have refilled. Default 50,000 (a few MB).
   */
  maxKeys?: number
  /** A monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number
}

interface Bucket {
  tokens: number
  at: number
}

const ALLOWED: RateLimitDecision = Object.freeze({ allowed: true, retryAfterMs: 0 })

/** Token buckets in this process's memory, the least recently used dropped beyond `maxKeys` (`lru-cache`). */
export function memoryRateLimitStore(options: MemoryRateLimitStoreOptions = {}): RateLimitStore {
  const now = options.now ?? (() => performance.now())
  const maxKeys = options.maxKeys ?? 50_000
  // Made on first use: lru-cache allocates its slots for `max` keys up front (about 1 MB
  // at the default), which a handler without rate limits should not pay.
  let buckets: LRUCache<string, Bucket> | undefined
  return {
    consume(key, rule) {
      const t = now()
      buckets ??= new LRUCache<string, Bucket>({ max: maxKeys })
      let bucket = buckets.get(key)
      if (bucket === undefined) {
        bucket = { tokens: rule.burstSize, at: t }
        buckets.set(key, bucket)
      } else {
        bucket.tokens = Math.min(rule.burstSize, bucket.tokens + ((t - bucket.at) * rule.requestsPerSecond) / 1000)
        bucket.at = t
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return ALLOWED
      }
      return { allowed: false, retryAfterMs: ((1 - bucket.tokens) * 1000) / rule.requestsPerSecond }
    },
  }
}
