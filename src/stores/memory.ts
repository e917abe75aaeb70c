import QuickLRU from 'quick-lru'
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
}

// Per-entry bookkeeping beyond the body: the key, the header strings, the entry object
// and the LRU's map slots. An estimate; it keeps a flood of tiny objects bounded too.
const ENTRY_OVERHEAD = 256

interface Slot {
  readonly entry: CacheEntry
  readonly bytes: number
}

/**
 * The default store: least recently used entries are evicted first once the bytes held
 * exceed `maxSize`. Built on `quick-lru`, whose own bound counts entries, so bytes are
 * accounted here: every insertion evicts from the least recently used end until the
 * total fits. Reads move an entry to the most recent end. Expiry is checked against
 * `now` on read (lazily; expired entries also leave through eviction).
 *
 * @example
 * const cache = createCache({ store: (bucket) => memoryStore({ maxSize: bucket.maxSize }) })
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxSize = options.maxSize ?? DEFAULT_CACHE_MAX_SIZE
  if (!(Number.isFinite(maxSize) && maxSize > 0)) throw new TypeError('memoryStore: maxSize must be a positive number of bytes')
  const now = options.now ?? Date.now
  let bytes = 0
  // quick-lru's entry bound is set out of reach: its two-generation scheme would drop
  // half the entries at once, and only tracks recency per generation. The byte budget
  // (with its per-entry overhead) is what bounds the count.
  const lru = new QuickLRU<string, Slot>({
    maxSize: Number.MAX_SAFE_INTEGER,
    onEviction: (_key, slot) => {
      bytes -= slot.bytes
    },
  })

  function remove(key: string): boolean {
    const slot = lru.peek(key)
    if (slot === undefined) return false
    lru.delete(key)
    bytes -= slot.bytes
    return true
  }

  let evictions = 0

  function evictUntilFits(): void {
    while (bytes > maxSize) {
      const oldest = lru.entriesAscending().next()
      if (oldest.done) return
      if (remove(oldest.value[0])) evictions++
    }
  }

  return {
    async get(key) {
      const slot = lru.peek(key)
      if (slot === undefined) return undefined
      if (slot.entry.expiresAt <= now()) {
        remove(key)
        return undefined
      }
      // Re-inserting moves the key to the most recently used end (a plain `get` does
      // not reorder keys within quick-lru's current generation).
      lru.delete(key)
      lru.set(key, slot)
      return slot.entry
    },
    async set(key, entry) {
      remove(key)
      const slot = { entry, bytes: sizeOf(key, entry) }
      if (slot.bytes > maxSize || entry.expiresAt <= now()) return
      lru.set(key, slot)
      bytes += slot.bytes
      evictUntilFits()
    },
    async delete(key) {
      return remove(key)
    },
    async deletePrefix(prefix) {
      let removed = 0
      for (const key of [...lru.keys()]) if (key.startsWith(prefix) && remove(key)) removed++
      return removed
    },
    clear() {
      lru.clear()
      bytes = 0
    },
    get size() {
      return bytes
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
