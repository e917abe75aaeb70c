/**
 * The stores the standalone server builds from its config: the cache layers of the
 * top-level `cache` block (memory, disk, Redis, with the purge bus when Redis is one)
 * and the Redis rate-limit store of `rate_limiting.store: redis`. The Redis and disk
 * modules are loaded only when the config names them: `redis` and `cacache` are
 * optional peer dependencies.
 */
import type { CacheStore } from '../cache/store.js'
import { describeError } from '../logging/describe-error.js'
import type { Logger } from '../logging/logger.js'
import { throttledWarn } from '../logging/throttled-warn.js'
import type { YatagarasuMetrics } from '../metrics/collector.js'
import { layeredStore, type CacheLayer, type LayeredStore } from '../stores/layered.js'
import { memoryStore } from '../stores/memory.js'
import type { RateLimitStore } from '../stores/rate-limit-store.js'
import type { CacheSettings, RateLimitStoreSettings, RedisSettings } from './cache-settings.js'

export interface SharedStores {
  /** The layered cache store shared by every bucket; `undefined` without a `cache` block. */
  readonly cacheStore: LayeredStore | undefined
  /** The Redis rate-limit store; `undefined` for `store: memory`. */
  readonly rateLimitStore: RateLimitStore | undefined
  /** Closes the Redis connections and the purge bus. */
  close(): Promise<void>
}

/** How long a start waits for Redis before serving without it. */
const START_WAIT_MS = 2000

/**
 * Builds what the settings name. Throws when a module is missing (`npm install redis`)
 * or the disk cache directory is unusable, so the server doesn't start half-configured.
 */
export async function createSharedStores(
  settings: { readonly cache: CacheSettings | undefined; readonly rateLimitStore: RateLimitStoreSettings },
  context: { logger: Logger; metrics: YatagarasuMetrics },
): Promise<SharedStores> {
  const { logger, metrics } = context
  const closers: Array<() => Promise<void> | void> = []
  const waitFor: Array<() => boolean> = []
  const close = async () => {
    await Promise.all(closers.map((closer) => Promise.resolve(closer()).catch(() => {})))
  }
  try {
    const cacheStore = settings.cache && (await buildCacheLayers(settings.cache, context, closers, waitFor))
    let rateLimitStore: RateLimitStore | undefined
    if (settings.rateLimitStore.kind === 'redis') {
      const redis = await loadRedis()
      const { url, password, database, keyPrefix } = settings.rateLimitStore
      const client = redis.createOwnedClient({ url, ...(password !== undefined && { password }), database })
      const warn = throttledWarn(logger)
      client.on('error', (error: unknown) => warn('redis rate limit store: connection problem; requests are let through', { error: describeError(error) }))
      client.connect().catch(() => {}) // failures arrive as 'error' events; it keeps retrying
      closers.push(() => void (client.isOpen && client.destroy()))
      waitFor.push(() => client.isReady)
      const failOpen = metrics.registry.counter(
        'yatagarasu_rate_limit_fail_open_total',
        'Requests let through without a rate-limit check because the Redis store failed, by reason.',
        ['reason'],
      )
      rateLimitStore = redis.redisRateLimitStore({ client, prefix: keyPrefix, logger, onFailOpen: (reason) => failOpen.inc({ reason }) })
    }
    // The first requests should find Redis in use: wait for the connections a moment,
    // then start anyway — Redis down is served around (fail open), not a failed start.
    await connected(waitFor, START_WAIT_MS)
    return { cacheStore, rateLimitStore, close }
  } catch (error) {
    await close()
    throw error
  }
}

async function buildCacheLayers(
  settings: CacheSettings,
  { logger, metrics }: { logger: Logger; metrics: YatagarasuMetrics },
  closers: Array<() => Promise<void> | void>,
  waitFor: Array<() => boolean>,
): Promise<LayeredStore> {
  const layers: CacheLayer[] = []
  let bus: import('../stores/redis-purge-bus.js').RedisPurgeBus | undefined
  for (const name of settings.layers) {
    if (name === 'memory') {
      layers.push({ name, store: memoryStore({ maxSize: settings.memory.maxSize }), maxItemSize: settings.memory.maxItemSize })
    } else if (name === 'disk') {
      const { diskStore } = await loadDisk()
      const store = diskStore({ directory: settings.disk!.directory, maxSize: settings.disk!.maxSize, logger })
      try {
        await store.ready
      } catch (error) {
        throw new Error(`cache.disk.cache_dir is unusable: ${describeError(error).message}`, { cause: error })
      }
      layers.push({ name, store })
    } else {
      const redis = await loadRedis()
      const connection = connectionOf(settings.redis!)
      const store = redis.redisStore({ ...connection, keyPrefix: settings.redis!.keyPrefix, logger })
      closers.push(() => store.close())
      layers.push({ name, store: capTtl(store, settings.redis!.maxTtl), shared: true })
      // Purges reach the other instances' own layers (memory, disk) through Redis pub/sub.
      bus = redis.redisPurgeBus({ url: connection.url, ...(connection.password !== undefined && { password: connection.password }), channel: `${settings.redis!.keyPrefix}purge`, logger })
      const opened = bus
      closers.push(() => opened.close())
      waitFor.push(() => store.isReady && opened.isReady)
    }
  }

  const errors = metrics.registry.counter(
    'yatagarasu_cache_layer_errors_total',
    'Cache layer operations that failed and were skipped (Redis down, disk full), by layer and operation.',
    ['layer', 'operation'],
  )
  const warn = throttledWarn(logger)
  const store = layeredStore(layers, {
    ...(bus && { bus }),
    onError(layer, operation, error) {
      errors.inc({ layer, operation })
      // Once per layer every 10 s: a Redis outage must not write a line per request.
      warn('cache layer failed; skipped', { layer, operation, error: describeError(error) }, layer)
    },
  })
  closers.unshift(() => store.close())

  const figure = (field: 'hits' | 'misses' | 'entries' | 'bytes') => () =>
    store.stats().flatMap((layer) => (typeof layer[field] === 'number' ? [[{ layer: layer.layer }, layer[field]] as const] : []))
  metrics.registry.counter('yatagarasu_cache_layer_hits_total', 'Cache lookups answered by each layer.', ['layer'], figure('hits'))
  metrics.registry.counter('yatagarasu_cache_layer_misses_total', 'Cache lookups that reached a layer and found nothing in it.', ['layer'], figure('misses'))
  metrics.registry.gauge('yatagarasu_cache_layer_entries', 'Entries held by each cache layer (layers that can count).', ['layer'], figure('entries'))
  metrics.registry.gauge('yatagarasu_cache_layer_bytes', 'Bytes held by each cache layer (layers that can count).', ['layer'], figure('bytes'))
  return store
}

function connectionOf(redis: RedisSettings): { url: string; password?: string; database: number } {
  return { url: redis.url, ...(redis.password !== undefined && { password: redis.password }), database: redis.database }
}

/** `redis_ttl_seconds`: entries stay in Redis at most that long, even when the bucket's TTL is longer. */
function capTtl(store: CacheStore, maxTtl: number | undefined): CacheStore {
  if (maxTtl === undefined) return store
  return {
    get: (key) => store.get(key),
    set(key, entry) {
      const expiresAt = Math.min(entry.expiresAt, entry.storedAt + maxTtl * 1000)
      return store.set(key, { ...entry, expiresAt, ...(entry.freshUntil !== undefined && { freshUntil: Math.min(entry.freshUntil, expiresAt) }) })
    },
    delete: (key) => store.delete(key),
    ...(store.deletePrefix !== undefined && { deletePrefix: (prefix: string) => store.deletePrefix!(prefix) }),
  }
}

async function loadRedis() {
  try {
    const [stores, client] = await Promise.all([import('../stores/redis.js'), import('../stores/redis-client.js')])
    return { ...stores, ...client }
  } catch (error) {
    throw new Error('a redis cache layer or rate-limit store needs the redis package (npm install redis)', { cause: error })
  }
}

async function loadDisk() {
  try {
    return await import('../stores/node/disk.js')
  } catch (error) {
    throw new Error('a disk cache layer needs the cacache package (npm install cacache)', { cause: error })
  }
}

/** Resolves once every check is true, or after `timeoutMs`. */
async function connected(checks: ReadonlyArray<() => boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!checks.every((check) => check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
}
