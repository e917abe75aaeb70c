/**
 * tieredStore: a memory store in front of Redis (a real redis-server for this file),
 * composed from the same CacheStore interface.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  createCache,
  createYatagarasu,
  memoryStore,
  silentLogger,
  tieredStore,
  type CacheEntry,
  type CacheStore,
  type FetchHandler,
} from '../../src/index.js'
import { redisStore, type RedisStore } from '../../src/stores/redis.js'
import { backgroundWork, cachedConfig, fakeOrigin, type FakeOrigin } from '../support/cache-origin.js'
import { startRedis, type TestRedis } from '../support/redis-server.js'
import { until } from '../support/wait.js'

let redis: TestRedis
let back: RedisStore

const entry = (text: string): CacheEntry => ({
  headers: { etag: '"t"' },
  body: new TextEncoder().encode(text),
  storedAt: Date.now(),
  expiresAt: Date.now() + 60_000,
})

beforeAll(async () => {
  redis = await startRedis()
  // Not a test of Redis being slow: no 100 ms operation timeout to trip on a busy machine.
  back = redisStore({ url: redis.url, logger: silentLogger, timeout: 60_000 })
  await until(() => back.isReady, 'the Redis store to connect')
})

afterAll(async () => {
  await back?.close()
  await redis?.stop()
})

describe('tieredStore (memory in front of Redis)', () => {
  it('reads the front first, falls back to the back, and copies back hits to the front', async () => {
    const front = memoryStore()
    // The copy back to the front happens in the background: wait for that write itself.
    const frontSet = front.set.bind(front)
    const copiedBack = new Promise<string>((resolve) => {
      front.set = async (key, value) => {
        await frontSet(key, value)
        resolve(key)
      }
    })
    const store = tieredStore(front, back)
    await back.set('cdn/only-in-redis', entry('from redis'))
    expect(front.entries).toBe(0)
    const got = await store.get('cdn/only-in-redis')
    expect(new TextDecoder().decode(got!.body)).toBe('from redis')
    expect(await copiedBack).toBe('cdn/only-in-redis')
    expect(await front.get('cdn/only-in-redis')).toBeDefined()
  })

  it('writes and deletes both tiers; purges a prefix in both', async () => {
    const front = memoryStore()
    const store = tieredStore(front, back)
    await store.set('cdn/p/a', entry('a'))
    await store.set('cdn/p/b', entry('b'))
    expect(await front.get('cdn/p/a')).toBeDefined()
    expect(await back.get('cdn/p/a')).toBeDefined()
    expect(await store.delete('cdn/p/a')).toBe(true)
    expect([await front.get('cdn/p/a'), await back.get('cdn/p/a')]).toEqual([undefined, undefined])
    expect(await store.deletePrefix!('cdn/p/')).toBe(1)
    expect([await front.get('cdn/p/b'), await back.get('cdn/p/b')]).toEqual([undefined, undefined])
  })

  it('keeps serving front hits while the back fails; front misses reject (→ BYPASS)', async () => {
    const front = memoryStore()
    const failing: CacheStore = {
      get: () => Promise.reject(new Error('down')),
      set: () => Promise.reject(new Error('down')),
      delete: () => Promise.reject(new Error('down')),
    }
    const store = tieredStore(front, failing)
    await front.set('cdn/hot', entry('hot'))
    expect(await store.get('cdn/hot')).toBeDefined()
    await expect(store.get('cdn/cold')).rejects.toThrow('down')
    await expect(store.set('cdn/x', entry('x'))).rejects.toThrow('down')
    expect(await front.get('cdn/x')).toBeDefined() // the front took it anyway
    expect(store.deletePrefix).toBeUndefined() // the failing back can't purge by prefix
  })
})

describe('two instances, each with its own memory front, sharing Redis', () => {
  let origin: FakeOrigin
  let work: ReturnType<typeof backgroundWork>

  beforeEach(() => {
    origin = fakeOrigin()
    origin.put('t.txt', 'tiered')
    work = backgroundWork()
  })

  async function status(handler: FetchHandler) {
    const response = await handler(new Request('http://proxy.test/cdn/t.txt'), work.context)
    await response.text()
    await work.flush()
    return response.headers.get('x-cache')
  }

  it('the second instance is served from Redis, then from its own memory', async () => {
    const perBucket = (bucket: { maxSize: number }) => tieredStore(memoryStore({ maxSize: bucket.maxSize }), back)
    const a = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache: createCache({ store: perBucket }), logger: silentLogger })
    const b = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache: createCache({ store: perBucket }), logger: silentLogger })
    expect(await status(a)).toBe('MISS')
    expect(await status(b)).toBe('HIT') // from Redis
    await back.delete('cdn/t.txt')
    expect(await status(b)).toBe('HIT') // from b's memory front
    expect(origin.requests).toHaveLength(1)
  })
})
