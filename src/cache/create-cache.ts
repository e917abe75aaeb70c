import { memoryStore } from '../stores/memory.js'
import { bucketPrefix, cacheKey } from './keys.js'
import type { CacheEntry, CacheStore } from './store.js'

/** A bucket's cache settings, as a store factory receives them. */
export interface CacheBucket {
  /** The bucket's `name` in the config. */
  readonly name: string
  /** Seconds an entry is served. */
  readonly ttl: number
  /** The bucket's byte budget (`cache.maxSize`). */
  readonly maxSize: number
  /** The largest object stored (`cache.maxItemSize`). */
  readonly maxItemSize: number
}

/** Makes the store of one bucket; called once per bucket (again if its `maxSize` changes). */
export type CacheStoreFactory = (bucket: CacheBucket) => CacheStore

export interface CreateCacheOptions {
  /**
   * Where entries live: one {@link CacheStore} shared by every bucket (keys carry the
   * bucket name), or a factory making one per bucket. Default: a memory store per
   * bucket holding at most that bucket's `maxSize` bytes.
   *
   * @example
   * createCache({ store: (bucket) => tieredStore(memoryStore({ maxSize: bucket.maxSize }), redis) })
   */
  store?: CacheStore | CacheStoreFactory
  /** The clock for TTLs, in milliseconds since the epoch (tests inject one). Default `Date.now`. */
  now?: () => number
}

/** What {@link YatagarasuCache.purge} removes. */
export type PurgeTarget =
  /** One object: the bucket's `name` and the S3 key as routed (decoded, e.g. `img/a b.png`). */
  | { bucket: string; key: string; prefix?: undefined }
  /** Every object whose S3 key starts with `prefix` (e.g. `img/`). */
  | { bucket: string; prefix: string; key?: undefined }
  /** Every object of the bucket. */
  | { bucket: string; key?: undefined; prefix?: undefined }
  /** Every object of every bucket this cache holds. */
  | { bucket?: undefined; key?: undefined; prefix?: undefined }

/** A layer's figures in {@link CacheStats}; `entries`/`bytes` are `null` where a store can't count (Redis). */
export interface CacheLayerStats {
  readonly layer: string
  readonly entries: number | null
  readonly bytes: number | null
  /** Lookups this layer answered. */
  readonly hits: number
  /** Lookups that reached this layer and found nothing in it. */
  readonly misses: number
  /** Operations that failed in this layer and were skipped (layered stores). */
  readonly errors: number
}

/** A bucket's figures in {@link CacheStats}. */
export interface CacheBucketStats {
  readonly bucket: string
  /** Requests answered from the cache (`X-Cache: HIT`, and `STALE`). */
  readonly hits: number
  /** Requests sent to S3 because nothing was cached (`MISS`). */
  readonly misses: number
  /** Requests that skipped the cache (`BYPASS`: Range, no-cache, a failing store). */
  readonly bypasses: number
  /** The bucket's entries and bytes in each layer (`null` where a store can't count). */
  readonly layers: ReadonlyArray<{ readonly layer: string; readonly entries: number | null; readonly bytes: number | null }>
}

export interface CacheStats {
  readonly layers: readonly CacheLayerStats[]
  readonly buckets: readonly CacheBucketStats[]
}

/**
 * The cache behind one or more handlers: its stores, and the fills in progress.
 * Create it to purge from code, or to keep cached objects across handler re-creation
 * (a config reload); otherwise each handler makes its own.
 */
export interface YatagarasuCache {
  /**
   * Removes cached objects: one key, a key prefix, or a whole bucket. Fills in progress
   * for those keys are not stored when they complete. Resolves with the number of
   * entries removed (for a tiered store, the larger count of its tiers).
   * Rejects for a bucket this cache holds no store for, and for a prefix or bucket
   * purge on a store without `deletePrefix`.
   *
   * @example
   * await cache.purge({ bucket: 'cdn', key: 'logo.png' })
   * await cache.purge({ bucket: 'cdn', prefix: 'img/' })
   * await cache.purge({ bucket: 'cdn' })
   */
  purge(target: PurgeTarget): Promise<number>
  /**
   * Figures per layer (entries, bytes, hits, misses, errors; summed over the stores of
   * all buckets) and per bucket (hits, misses, bypasses since this cache was created,
   * and its entries and bytes in each layer). Layer names come from `layeredStore`; a
   * plain store is one layer, `memory` for the default store, else `store`.
   */
  stats(): CacheStats
}

/** The outcome of a fill, as requests waiting on it see it. */
export type FlightResult =
  /** `stale`: S3 failed and the entry is an expired one within `staleIfError`. */
  | { readonly entry: CacheEntry; readonly stale?: boolean }
  /** `retry`: the fill failed or was cancelled, so one waiter may lead a new one. */
  | { readonly entry?: undefined; readonly retry: boolean }

/** A fill in progress (single-flight): one S3 request that other requests for the key wait on. */
export interface Flight {
  readonly result: Promise<FlightResult>
  settle(result: FlightResult): void
  /** Set by a purge: the result must not be stored. */
  purged: boolean
  /** The store write, once started; a purge waits for it so it can't land afterwards. */
  writing: Promise<void> | undefined
  /** Set while a streamed write runs: makes it fail (store nothing), so a purge need not wait for the whole transfer. */
  abortWrite?: () => void
}

/** What the cache middleware uses; kept off the public type. */
export interface CacheInternals {
  readonly now: () => number
  readonly flights: Map<string, Flight>
  /** Background revalidations of stale entries, one per key; apart from `flights`, which requests wait on. */
  readonly revalidations: Map<string, Flight>
  storeFor(bucket: CacheBucket): CacheStore
  /** Counts a request's outcome for {@link YatagarasuCache.stats}. */
  count(bucket: string, status: 'HIT' | 'MISS' | 'BYPASS' | 'STALE'): void
}

/** What a store may offer for {@link YatagarasuCache.stats} (memoryStore, diskStore, layeredStore do). */
interface Countable {
  readonly size?: unknown
  readonly entries?: unknown
  usage?(prefix: string): { entries: number; bytes: number } | ReadonlyArray<{ layer: string; entries: number | null; bytes: number | null }>
  stats?(): readonly CacheLayerStats[]
}

const internals = new WeakMap<YatagarasuCache, CacheInternals>()

/**
 * Creates a cache to pass to `createYatagarasu(config, { cache })` (or to the `cache`
 * middleware), and to purge from code.
 *
 * @example
 * const cache = createCache()
 * const handler = createYatagarasu(config, { cache })
 * await cache.purge({ bucket: 'cdn', prefix: 'img/' })
 */
export function createCache(options: CreateCacheOptions = {}): YatagarasuCache {
  const now = options.now ?? Date.now
  const option = options.store
  const shared = option !== undefined && typeof option !== 'function' ? option : undefined
  const factory: CacheStoreFactory =
    typeof option === 'function' ? option : (bucket) => memoryStore({ maxSize: bucket.maxSize, now })
  const stores = new Map<string, { store: CacheStore; maxSize: number }>()
  const flights = new Map<string, Flight>()
  const revalidations = new Map<string, Flight>()
  const outcomes = new Map<string, { hits: number; misses: number; bypasses: number }>()
  const plainLayer = option === undefined ? 'memory' : 'store'

  function outcomesOf(bucket: string) {
    let found = outcomes.get(bucket)
    if (found === undefined) outcomes.set(bucket, (found = { hits: 0, misses: 0, bypasses: 0 }))
    return found
  }

  /** A bucket's entries and bytes per layer of its store. */
  function usageOf(bucket: string, store: CacheStore): CacheBucketStats['layers'] {
    const countable = store as Countable
    const usage = typeof countable.usage === 'function' ? countable.usage(bucketPrefix(bucket)) : undefined
    if (Array.isArray(usage)) return usage
    if (usage !== undefined) return [{ layer: plainLayer, ...(usage as { entries: number; bytes: number }) }]
    // A store of this bucket alone counts for it as a whole.
    const own = [...stores.values()].filter((slot) => slot.store === store).length === 1 && store !== shared
    return [
      {
        layer: plainLayer,
        entries: own && typeof countable.entries === 'number' ? countable.entries : null,
        bytes: own && typeof countable.size === 'number' ? countable.size : null,
      },
    ]
  }

  function layerStats(): CacheLayerStats[] {
    const byName = new Map<string, { layer: string; entries: number | null; bytes: number | null; hits: number; misses: number; errors: number }>()
    const add = (figures: CacheLayerStats) => {
      const found = byName.get(figures.layer)
      if (found === undefined) return void byName.set(figures.layer, { ...figures })
      found.entries = found.entries === null || figures.entries === null ? null : found.entries + figures.entries
      found.bytes = found.bytes === null || figures.bytes === null ? null : found.bytes + figures.bytes
      found.hits += figures.hits
      found.misses += figures.misses
      found.errors += figures.errors
    }
    const seen = new Set<CacheStore>()
    for (const [bucket, { store }] of stores) {
      const countable = store as Countable
      if (typeof countable.stats === 'function') {
        if (!seen.has(store)) countable.stats().forEach(add)
      } else {
        // A plain store: its hits and misses are those of the buckets using it.
        const { hits, misses } = outcomesOf(bucket)
        const first = !seen.has(store)
        add({
          layer: plainLayer,
          entries: first ? (typeof countable.entries === 'number' ? countable.entries : null) : 0,
          bytes: first ? (typeof countable.size === 'number' ? countable.size : null) : 0,
          hits,
          misses,
          errors: 0,
        })
      }
      seen.add(store)
    }
    return [...byName.values()]
  }

  function storeFor(bucket: CacheBucket): CacheStore {
    if (shared !== undefined) {
      stores.set(bucket.name, { store: shared, maxSize: bucket.maxSize })
      return shared
    }
    const existing = stores.get(bucket.name)
    if (existing !== undefined && existing.maxSize === bucket.maxSize) return existing.store
    const store = factory(bucket)
    stores.set(bucket.name, { store, maxSize: bucket.maxSize })
    return store
  }

  const cache: YatagarasuCache = {
    async purge(target) {
      const { bucket, key, prefix } = target
      if (bucket === undefined) {
        if (key !== undefined || prefix !== undefined) throw new TypeError('purge: a key or prefix needs its bucket')
        const counts = await Promise.all([...stores.keys()].map((name) => cache.purge({ bucket: name })))
        return counts.reduce((total, count) => total + count, 0)
      }
      if (key !== undefined && prefix !== undefined) throw new TypeError('purge: give either key or prefix, not both')
      const store = stores.get(bucket)?.store ?? shared
      if (store === undefined) throw new Error(`purge: no cache is configured for bucket ${JSON.stringify(bucket)}`)
      const storeKey = key !== undefined ? cacheKey(bucket, key) : bucketPrefix(bucket) + (prefix ?? '')
      const writes: Promise<void>[] = []
      for (const inProgress of [flights, revalidations]) {
        for (const [flightKey, flight] of inProgress) {
          if (key !== undefined ? flightKey !== storeKey : !flightKey.startsWith(storeKey)) continue
          flight.purged = true
          flight.abortWrite?.()
          inProgress.delete(flightKey)
          if (flight.writing !== undefined) writes.push(flight.writing)
        }
      }
      await Promise.all(writes)
      if (key !== undefined) return (await store.delete(storeKey)) ? 1 : 0
      if (store.deletePrefix === undefined) throw new Error('purge: this cache store cannot remove entries by prefix')
      return store.deletePrefix(storeKey)
    },
    stats() {
      const buckets = [...stores].map(([bucket, { store }]) => ({ bucket, ...outcomesOf(bucket), layers: usageOf(bucket, store) }))
      return { layers: layerStats(), buckets }
    },
  }
  internals.set(cache, {
    now,
    flights,
    revalidations,
    storeFor,
    count(bucket, status) {
      const found = outcomesOf(bucket)
      if (status === 'HIT' || status === 'STALE') found.hits++
      else if (status === 'MISS') found.misses++
      else found.bypasses++
    },
  })
  return cache
}

export function cacheInternals(cache: YatagarasuCache): CacheInternals {
  const found = internals.get(cache)
  if (found === undefined) throw new TypeError('expected a cache made by createCache()')
  return found
}

export function createFlight(): Flight {
  let settle!: (result: FlightResult) => void
  const result = new Promise<FlightResult>((resolve) => (settle = resolve))
  return { result, settle, purged: false, writing: undefined }
}
