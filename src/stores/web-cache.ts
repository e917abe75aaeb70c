import { decodeEntry, encodeEntry } from '../cache/entry-codec.js'
import type { CacheStore } from '../cache/store.js'

export interface WebCacheStoreOptions {
  /** The name passed to `caches.open()`. Default `'yatagarasu'`. */
  name?: string
  /** The `CacheStorage` to use. Default: the runtime's global `caches`. */
  caches?: CacheStorage
  /** The clock that decides expiry, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

// Entries are stored under synthetic URLs on a reserved domain (RFC 6761 `.invalid`),
// the whole cache key percent-encoded into one path segment.
const ORIGIN = 'https://yatagarasu.invalid/'

/**
 * A {@link CacheStore} on the Web Cache API (`caches.open(name)`), for runtimes that
 * have one: Deno, Cloudflare Workers and other edge runtimes. Runtime-neutral; Node
 * has no `caches` (the store then rejects every call, so requests are served from S3
 * with `X-Cache: BYPASS` — use the memory store there).
 *
 * Each entry is one cached `Response` whose body holds the metadata and the object
 * bytes ({@link encodeEntry}), with `Cache-Control: max-age=<ttl>` for runtimes that
 * evict by it. Expiry is also checked on read. Purging by prefix needs `Cache.keys()`,
 * which not every runtime provides (Workers doesn't); `deletePrefix` rejects there.
 *
 * @example
 * const cache = createCache({ store: webCacheStore({ name: 'assets' }) })
 * export default { fetch: createYatagarasu(config, { cache }) }
 */
export function webCacheStore(options: WebCacheStoreOptions = {}): CacheStore {
  const name = options.name ?? 'yatagarasu'
  const now = options.now ?? Date.now
  let opened: Promise<Cache> | undefined

  function open(): Promise<Cache> {
    // One shared open; a failed one is retried on the next call.
    opened ??= Promise.resolve()
      .then(() => {
        const storage = options.caches ?? (globalThis as { caches?: CacheStorage }).caches
        if (storage === undefined) throw new Error('The Web Cache API (caches) is not available in this runtime')
        return storage.open(name)
      })
      .catch((error: unknown) => {
        opened = undefined
        throw error
      })
    return opened
  }

  const url = (key: string) => ORIGIN + encodeURIComponent(key)

  return {
    async get(key) {
      const cache = await open()
      const response = await cache.match(url(key))
      if (response === undefined) return undefined
      const entry = decodeEntry(new Uint8Array(await response.arrayBuffer()))
      if (entry === undefined || entry.expiresAt <= now()) {
        await cache.delete(url(key))
        return undefined
      }
      return entry
    },
    async set(key, entry) {
      const ttl = Math.max(1, Math.ceil((entry.expiresAt - now()) / 1000))
      const cache = await open()
      await cache.put(
        url(key),
        new Response(encodeEntry(entry), {
          headers: { 'content-type': 'application/octet-stream', 'cache-control': `max-age=${ttl}` },
        }),
      )
    },
    async delete(key) {
      const cache = await open()
      return cache.delete(url(key))
    },
    async deletePrefix(prefix) {
      const cache = await open()
      if (typeof cache.keys !== 'function') throw new Error('This runtime\'s Cache API cannot list keys; purge keys one by one')
      const start = url(prefix)
      let removed = 0
      for (const request of await cache.keys()) {
        if (request.url.startsWith(start) && (await cache.delete(request))) removed++
      }
      return removed
    },
  }
}
