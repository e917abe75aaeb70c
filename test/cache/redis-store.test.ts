/**
 * The Redis store against a real redis-server (started on a free port for this file):
 * binary-safe values with TTL, key prefix, purge by SCAN, two proxy instances sharing
 * it, and graceful degradation when Redis is slow or stops mid-test.
 */
import net from 'node:net'
import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createCache, createYatagarasu, type CacheEntry, type FetchHandler, type Logger } from '../../src/index.js'
import { redisStore, type RedisStore } from '../../src/stores/redis.js'
import { backgroundWork, cachedConfig, fakeOrigin, testClock, type FakeOrigin } from '../support/cache-origin.js'
import { startRedis, type TestRedis } from '../support/redis-server.js'
import { until } from '../support/wait.js'

const PASSWORD = 'redis-pw-must-never-be-logged'
let redis: TestRedis
let raw: ReturnType<typeof createClient>
const stores: RedisStore[] = []
const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = []

const logger: Logger = {
  debug: () => {},
  info: (message, fields) => void logs.push({ level: 'info', message, ...(fields && { fields }) }),
  warn: (message, fields) => void logs.push({ level: 'warn', message, ...(fields && { fields }) }),
  error: (message, fields) => void logs.push({ level: 'error', message, ...(fields && { fields }) }),
}

/**
 * Only the test about a slow Redis keeps the store's 100 ms operation timeout. Elsewhere it
 * is far beyond any test's run: on a busy machine, queueing alone can take longer than
 * 100 ms (1,200 concurrent SETs did), and a MISS would turn into a BYPASS.
 */
const NO_TIMEOUT = 60_000

async function connectedStore(options: Partial<Parameters<typeof redisStore>[0]> = {}): Promise<RedisStore> {
  const store = redisStore({ url: redis.url, logger, timeout: NO_TIMEOUT, ...options })
  stores.push(store)
  await until(() => store.isReady, 'the store to connect')
  return store
}

const entry = (body: Uint8Array, ttlMs = 60_000, now = Date.now()): CacheEntry => ({
  headers: { 'content-type': 'application/octet-stream', etag: '"e1"', 'x-amz-meta-note': 'café ☕' },
  body,
  storedAt: now,
  expiresAt: now + ttlMs,
})

/**
 * A TCP relay to Redis on 127.0.0.1 that can hold back Redis's answers (`stall`) and let
 * them through again (`resume`), for a Redis that is slow exactly when a test says so.
 */
async function stallingRelay(redisPort: number) {
  let stalled = false
  const held: Array<() => void> = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(redisPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      const deliver = () => void client.write(chunk)
      if (stalled) held.push(deliver)
      else deliver()
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    stall() {
      stalled = true
    },
    resume() {
      stalled = false
      for (const deliver of held.splice(0)) deliver()
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Redis's own clock (TIME), in ms. */
async function serverTimeMs(): Promise<number> {
  const [seconds, micros] = (await raw.sendCommand(['TIME'])) as [string, string]
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
}

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
  raw = createClient({ url: redis.url })
  raw.on('error', () => {})
  await raw.connect()
})

afterAll(async () => {
  for (const store of stores) await store.close()
  raw?.destroy()
  await redis?.stop()
})

beforeEach(async () => {
  logs.length = 0
  if (raw.isReady) await raw.flushAll()
})

describe('redisStore', () => {
  it('stores binary bodies and headers exactly, under its key prefix, with a PX TTL', async () => {
    const clock = testClock(Date.now())
    const store = await connectedStore({ now: clock.now })
    const body = new Uint8Array(70_000).map((_, i) => (i * 31) % 256)
    const before = await serverTimeMs()
    await store.set('cdn/bin/a.bin', entry(body, 90_000, clock.now()))
    const after = await serverTimeMs()
    const back = await store.get('cdn/bin/a.bin')
    expect(back?.headers).toEqual(entry(body).headers)
    expect(Buffer.from(back!.body).equals(Buffer.from(body))).toBe(true)
    expect(await raw.exists('yatagarasu:cdn/bin/a.bin')).toBe(1)
    // SET ... PX 90000 (the entry's TTL by the store's clock): Redis expires it 90 s after
    // the moment, by its own clock, it ran the SET.
    const expireAt = await raw.pExpireTime('yatagarasu:cdn/bin/a.bin')
    expect(expireAt).toBeGreaterThanOrEqual(before + 90_000)
    expect(expireAt).toBeLessThanOrEqual(after + 90_000)
    expect(await store.get('cdn/bin/missing')).toBeUndefined()
  })

  it('honours a custom key prefix', async () => {
    const store = await connectedStore({ keyPrefix: 'app1:' })
    await store.set('cdn/x', entry(new Uint8Array([1, 2, 3])))
    expect(await raw.exists('app1:cdn/x')).toBe(1)
    expect(await raw.exists('yatagarasu:cdn/x')).toBe(0)
  })

  it('never returns an entry past its expiry by its clock (Redis expires it too)', async () => {
    const clock = testClock(Date.now())
    const store = await connectedStore({ now: clock.now })
    await store.set('cdn/t', entry(new Uint8Array([9]), 5000, clock.now()))
    expect(await store.get('cdn/t')).toBeDefined()
    clock.advance(5000)
    expect(await store.get('cdn/t')).toBeUndefined()
  })

  it('deletes one key, and a prefix with SCAN (glob characters taken literally)', async () => {
    const store = await connectedStore()
    const one = entry(new Uint8Array([1]))
    await Promise.all(Array.from({ length: 1200 }, (_, i) => store.set(`cdn/img/${i}.png`, one)))
    await store.set('cdn/css/a.css', one)
    await store.set('cdn/we*rd[1]/a', one)
    await store.set('cdn/weXrd1/a', one)
    await raw.set('other-app:cdn/img/0.png', 'not ours')
    expect(await store.delete('cdn/css/a.css')).toBe(true)
    expect(await store.delete('cdn/css/a.css')).toBe(false)
    expect(await store.deletePrefix!('cdn/img/')).toBe(1200)
    expect(await store.deletePrefix!('cdn/we*rd[1]/')).toBe(1)
    expect(await store.get('cdn/weXrd1/a')).toBeDefined()
    expect(await raw.get('other-app:cdn/img/0.png')).toBe('not ours')
  })

  it('uses a client you pass, and leaves it open on close', async () => {
    const client = createClient({ url: redis.url })
    await client.connect()
    const store = redisStore({ client, logger })
    await store.set('cdn/c', entry(new Uint8Array([7])))
    expect((await store.get('cdn/c'))?.body).toEqual(new Uint8Array([7]))
    await store.close()
    expect(client.isOpen).toBe(true)
    client.destroy()
  })

  it('refuses to be made without exactly one of url and client', () => {
    expect(() => redisStore({} as never)).toThrow(TypeError)
  })
})

describe('several proxy instances sharing Redis', () => {
  let origin: FakeOrigin
  let work: ReturnType<typeof backgroundWork>

  beforeEach(() => {
    origin = fakeOrigin()
    origin.put('shared.txt', { body: 'shared body', headers: { ETag: '"s"' } })
    work = backgroundWork()
  })

  async function status(handler: FetchHandler, path = '/cdn/shared.txt') {
    const response = await handler(new Request(`http://proxy.test${path}`), work.context)
    const body = await response.text()
    await work.flush()
    return { status: response.status, cache: response.headers.get('x-cache'), body }
  }

  it('one instance fills, the other is served from Redis; purge on one clears both', async () => {
    const instanceA = createCache({ store: await connectedStore() })
    const instanceB = createCache({ store: await connectedStore() })
    const a = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache: instanceA, logger })
    const b = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache: instanceB, logger })
    expect(await status(a)).toEqual({ status: 200, cache: 'MISS', body: 'shared body' })
    expect(await status(b)).toEqual({ status: 200, cache: 'HIT', body: 'shared body' })
    expect(origin.requests).toHaveLength(1)
    expect(await instanceB.purge({ bucket: 'cdn', key: 'shared.txt' })).toBe(1)
    expect((await status(a)).cache).toBe('MISS')
    expect(await instanceA.purge({ bucket: 'cdn' })).toBe(1)
    expect((await status(b)).cache).toBe('MISS')
  })

  it('a slow Redis (over the 100 ms timeout) is bypassed: 200 from S3, BYPASS, logged', async () => {
    // The store reaches Redis through a relay that holds Redis's answers until this test
    // releases them: none can come before the store's timeout, however slow the machine.
    const relay = await stallingRelay(redis.port)
    try {
      const store = await connectedStore({ url: redis.url.replace(`:${redis.port}`, `:${relay.port}`), timeout: undefined }) // the default, 100 ms
      const handler = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache: createCache({ store }), logger })
      relay.stall()
      const result = await status(handler)
      expect(result).toEqual({ status: 200, cache: 'BYPASS', body: 'shared body' })
      expect(logs.some((log) => log.level === 'warn' && /cache store failed/.test(log.message))).toBe(true)
      expect(JSON.stringify(logs)).toMatch(/longer than 100 ms/)
    } finally {
      relay.resume()
      await relay.close()
    }
  })

  describe('Redis stopping mid-test', () => {
    afterEach(async () => {
      // restore a server on the same port for any later test (and for reconnection)
      if (redis.process.exitCode !== null || redis.process.signalCode !== null) {
        redis = await startRedis({ password: PASSWORD, port: redis.port })
      }
    })

    it('requests are still 200 from S3 with BYPASS, quickly; the failure is logged without secrets; it recovers', async () => {
      const store = await connectedStore()
      const handler = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache: createCache({ store }), logger })
      expect((await status(handler)).cache).toBe('MISS')
      expect((await status(handler)).cache).toBe('HIT')

      await redis.stop()
      for (let i = 0; i < 5; i++) {
        expect(await status(handler)).toEqual({ status: 200, cache: 'BYPASS', body: 'shared body' })
      }
      // No request waited on the dead connection: each failed at once, none by the (here
      // minute-long) operation timeout, or this test would not have finished.
      expect(JSON.stringify(logs)).not.toMatch(/took longer than/)
      expect(origin.requests).toHaveLength(6)
      await until(() => logs.some((log) => /connection problem/.test(log.message)), 'the connection warning')
      expect(logs.some((log) => /cache store failed/.test(log.message))).toBe(true)
      const logged = JSON.stringify(logs)
      expect(logged).not.toContain(PASSWORD)
      expect(logged).not.toContain(encodeURIComponent(PASSWORD))

      redis = await startRedis({ password: PASSWORD, port: redis.port })
      await until(() => store.isReady, 'the store to reconnect', 10_000)
      expect((await status(handler)).cache).toBe('MISS')
      expect((await status(handler)).cache).toBe('HIT')
    })
  })
})
