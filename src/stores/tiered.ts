import type { CacheStore } from '../cache/store.js'

/**
 * Two stores as one: a small fast `front` (typically a memory store per process) in
 * front of a shared `back` (typically Redis, shared by every proxy instance).
 *
 * - `get` asks the front first; on a front miss it asks the back and copies a hit
 *   into the front (in the background; a failing front is ignored).
 * - `set`, `delete` and `deletePrefix` go to both. The front is written first and its
 *   failures are ignored (it is an optimisation); the back's failures reject, so the
 *   cache layer logs them.
 * - While the back is down, front hits are still served; front misses reject (the
 *   request is then answered from S3 with `X-Cache: BYPASS`).
 *
 * Other instances may still hold a purged entry in their front until its TTL ends:
 * give the front a short memory or purge every instance.
 *
 * @example
 * const redis = redisStore({ url: process.env.REDIS_URL })
 * const cache = createCache({ store: (bucket) => tieredStore(memoryStore({ maxSize: bucket.maxSize }), redis) })
 */
export function tieredStore(front: CacheStore, back: CacheStore): CacheStore {
  const store: CacheStore = {
    async get(key) {
      const near = await front.get(key).catch(() => undefined)
      if (near !== undefined) return near
      const far = await back.get(key)
      if (far !== undefined) void front.set(key, far).catch(() => {})
      return far
    },
    async set(key, entry) {
      await front.set(key, entry).catch(() => {})
      await back.set(key, entry)
    },
    async delete(key) {
      const [near, far] = await Promise.all([front.delete(key).catch(() => false), back.delete(key)])
      return near || far
    },
  }
  if (front.deletePrefix !== undefined && back.deletePrefix !== undefined) {
    const frontPrefix = front.deletePrefix.bind(front)
    const backPrefix = back.deletePrefix.bind(back)
    store.deletePrefix = async (prefix) => {
      const [near, far] = await Promise.all([frontPrefix(prefix).catch(() => 0), backPrefix(prefix)])
      return Math.max(near, far)
    }
  }
  return store
}
