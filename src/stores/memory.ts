import { LRUCache } from 'lru-cache'
import type { CacheEntry, CacheStore } from '../cache/store.js'
import { DEFAULT_CACHE_MAX_SIZE } from '../config/cache-schema.js'

export interface MemoryStoreOptions {
  /** Bytes the store may hold (bodies plus an estimate of headers and bookkeeping). Default 100 MB. */
  maxSize?: number
  /** The clock that decides expiry, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/** A {@link CacheStore} in this process's memory, with its byte count for monitoring. */
export interface MemoryStore extends CacheStore {
  /** Bytes currently accounted for. */
  readonly size: number
  /** Entries currently held (expired ones until they are next touched or evicted). */
  readonly entries: number
  /** Entries evicted so far to stay within `maxSize` (a running total, for metrics). */
  readonly evictions: number
  /** Removes every entry. */
  clear(): void
  /** Entries and bytes (as {@link size} counts them) under a key prefix: a bucket's share of a shared store. */
  usage(prefix?: string): { entries: number; bytes: number }
}

// Per-entry bookkeeping beyond the body: the key, the header strings, the entry object
// and the LRU's slots. An estimate; it keeps a flood of tiny objects bounded too.
const ENTRY_OVERHEAD = 256

/**
 * The default store: least recently used entries are evicted first once the bytes held
 * would exceed `maxSize`. Built on `lru-cache`, which bounds by size: each entry's bytes
 * (body, header strings, key, plus a fixed overhead) are its size, eviction from the
 * least recently used end makes room before an insertion, and an entry larger than
 * `maxSize` is not kept. Reads make an entry most recently used. Each entry lives until
 * its `expiresAt` by `now` (lru-cache's TTL, checked on read).
 *
 * @example
 * const cache = createCache({ store: (bucket) => memoryStore({ maxSize: bucket.maxSize }) })
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxSize = options.maxSize ?? DEFAULT_CACHE_MAX_SIZE
  if (!(Number.isFinite(maxSize) && maxSize > 0)) throw new TypeError('memoryStore: maxSize must be a positive number of bytes')
  const now = options.now ?? Date.now
  let evictions = 0
  const lru = new LRUCache<string, CacheEntry>({
    maxSize: Math.max(1, Math.floor(maxSize)),
    sizeCalculation: (entry, key) => sizeOf(key, entry),
    // TTLs run on `now`, read at every check: no cached time (and no timer to expire it),
    // so an injected clock is seen at once.
    perf: { now },
    ttlResolution: 0,
    dispose: (_entry, _key, reason) => {
      if (reason === 'evict') evictions++
    },
  })

  function peek(key: string): CacheEntry | undefined {
    const entry = lru.get(key)
    // lru-cache drops an entry once its age exceeds the TTL; the cache's rule is that
    // it is gone from `expiresAt` on, a millisecond earlier.
    if (entry !== undefined && entry.expiresAt <= now()) {
      lru.delete(key)
      return undefined
    }
    return entry
  }

  return {
    async get(key) {
      return peek(key)
    },
    peek,
    async set(key, entry) {
      const ttl = entry.expiresAt - now()
      // A TTL of 0 would mean "forever" to lru-cache.
      if (ttl <= 0) lru.delete(key)
      else lru.set(key, entry, { ttl })
    },
    async delete(key) {
      return lru.delete(key)
    },
    async deletePrefix(prefix) {
      lru.purgeStale() // expired entries go too, without counting as purged
      let removed = 0
      for (const key of [...lru.keys()]) if (key.startsWith(prefix) && lru.delete(key)) removed++
      return removed
    },
    clear() {
      lru.clear()
    },
    usage(prefix = '') {
      let entries = 0
      let total = 0
      for (const [key, entry] of lru.entries()) {
        if (!key.startsWith(prefix)) continue
        entries++
        total += sizeOf(key, entry)
      }
      return { entries, bytes: total }
    },
    get size() {
      return lru.calculatedSize
    },
    get entries() {
      return lru.size
    },
    get evictions() {
      return evictions
    },
  }
}

function sizeOf(key: string, entry: CacheEntry): number {
  let bytes = ENTRY_OVERHEAD + key.length * 2 + entry.body.byteLength
  for (const name in entry.headers) bytes += (name.length + (entry.headers[name]?.length ?? 0)) * 2
  return bytes
}
