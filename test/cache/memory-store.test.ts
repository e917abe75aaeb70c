/**
 * The memory store (lru-cache, bounded by bytes): LRU eviction under maxSize, TTL with
 * an injected clock, purge by prefix; and the same through the handler.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { createCache, createYatagarasu, memoryStore, type CacheEntry, type FetchHandler } from '../../src/index.js'
import { backgroundWork, cachedConfig, fakeOrigin, testClock, type FakeOrigin } from '../support/cache-origin.js'

const entry = (size: number, expiresAt = Number.MAX_SAFE_INTEGER): CacheEntry => ({
  headers: {},
  body: new Uint8Array(size),
  storedAt: 0,
  expiresAt,
})

describe('memoryStore', () => {
  it('accounts bytes: body plus a fixed overhead per entry', async () => {
    const store = memoryStore({ maxSize: 1_000_000 })
    await store.set('k1', entry(1000))
    const one = store.size
    expect(one).toBeGreaterThan(1000)
    expect(one).toBeLessThan(1000 + 512)
    await store.set('k2', entry(1000))
    expect(store.size).toBe(2 * one)
    await store.set('k1', entry(1000)) // replacing does not double-count
    expect(store.size).toBe(2 * one)
    expect(await store.delete('k1')).toBe(true)
    expect(await store.delete('k1')).toBe(false)
    expect(store.size).toBe(one)
    expect(store.entries).toBe(1)
  })

  it('evicts the least recently used entries first once the bytes exceed maxSize', async () => {
    const probe = memoryStore({ maxSize: 1_000_000 })
    await probe.set('a', entry(1000))
    const per = probe.size
    const store = memoryStore({ maxSize: per * 3 })
    await store.set('a', entry(1000))
    await store.set('b', entry(1000))
    await store.set('c', entry(1000))
    expect(store.entries).toBe(3)
    await store.get('a') // a is now the most recently used; b the least
    await store.set('d', entry(1000))
    expect(await store.get('b')).toBeUndefined()
    expect(store.evictions).toBe(1)
    expect(await store.get('a')).toBeDefined()
    expect(await store.get('c')).toBeDefined()
    expect(await store.get('d')).toBeDefined()
    expect(store.size).toBeLessThanOrEqual(per * 3)
    // a larger entry evicts as many as it needs, oldest first (a, c were read before d)
    await store.set('e', entry(2000))
    expect([await store.get('a'), await store.get('c')]).toEqual([undefined, undefined])
    expect(await store.get('d')).toBeDefined()
    expect(await store.get('e')).toBeDefined()
    expect(store.size).toBeLessThanOrEqual(per * 3)
    expect(store.evictions).toBe(3)
  })

  it('never stores an entry larger than maxSize (and drops the old one under that key)', async () => {
    const store = memoryStore({ maxSize: 2000 })
    await store.set('k', entry(100))
    await store.set('k', entry(5000))
    expect(await store.get('k')).toBeUndefined()
    expect(store.size).toBe(0)
  })

  it('expires entries by its clock', async () => {
    const clock = testClock()
    const store = memoryStore({ now: clock.now })
    await store.set('k', entry(10, clock.now() + 1000))
    clock.advance(999)
    expect(await store.get('k')).toBeDefined()
    clock.advance(1)
    expect(await store.get('k')).toBeUndefined()
    expect(store.size).toBe(0)
  })

  it('peek answers at once what get resolves with, expiry included', async () => {
    const clock = testClock()
    const store = memoryStore({ now: clock.now })
    const stored = entry(10, clock.now() + 1000)
    await store.set('k', stored)
    expect(store.peek!('k')).toBe(stored)
    expect(await store.get('k')).toBe(stored)
    expect(store.peek!('other')).toBeUndefined()
    clock.advance(1000)
    expect(store.peek!('k')).toBeUndefined()
    expect(await store.get('k')).toBeUndefined()
  })

  it('deletes by prefix', async () => {
    const store = memoryStore()
    for (const key of ['cdn/img/a', 'cdn/img/b', 'cdn/css/a', 'cdnx/img/a']) await store.set(key, entry(1))
    expect(await store.deletePrefix!('cdn/img/')).toBe(2)
    expect(await store.get('cdn/css/a')).toBeDefined()
    expect(await store.get('cdnx/img/a')).toBeDefined()
  })
})

describe('through the handler', () => {
  let origin: FakeOrigin
  let work: ReturnType<typeof backgroundWork>
  let handler: FetchHandler

  async function status(key: string) {
    const response = await handler(new Request(`http://proxy.test/cdn/${key}`), work.context)
    await response.arrayBuffer()
    await work.flush()
    return response.headers.get('x-cache')
  }

  beforeEach(() => {
    origin = fakeOrigin()
    work = backgroundWork()
    for (const key of ['a', 'b', 'c', 'd']) origin.put(key, 'z'.repeat(1000))
  })

  it('keeps a bucket within maxSize, least recently used out first', async () => {
    // room for three 1000-byte objects (plus overhead), not four
    handler = createYatagarasu(cachedConfig({ maxSize: 3 * 1000 + 3 * 400 }), { fetch: origin.fetch })
    for (const key of ['a', 'b', 'c']) expect(await status(key)).toBe('MISS')
    expect(await status('a')).toBe('HIT') // b is now least recently used
    expect(await status('d')).toBe('MISS') // evicts b
    expect(await status('a')).toBe('HIT')
    expect(await status('c')).toBe('HIT')
    expect(await status('d')).toBe('HIT')
    expect(await status('b')).toBe('MISS')
  })

  it('serves an entry for ttl seconds, then fetches it again', async () => {
    const clock = testClock()
    handler = createYatagarasu(cachedConfig({ ttl: 60 }), { fetch: origin.fetch, cache: createCache({ now: clock.now }) })
    expect(await status('a')).toBe('MISS')
    clock.advance(30_000)
    const response = await handler(new Request('http://proxy.test/cdn/a'), work.context)
    expect([response.headers.get('x-cache'), response.headers.get('age')]).toEqual(['HIT', '30'])
    clock.advance(30_000)
    expect(await status('a')).toBe('MISS')
    expect(await status('a')).toBe('HIT')
    expect(origin.requests).toHaveLength(2)
  })

  it('a store without peek serves the same hits, headers and counts as one with it', async () => {
    const answers: unknown[][] = []
    for (const synchronous of [true, false]) {
      const store = memoryStore()
      const asyncOnly = { get: store.get, set: store.set, delete: store.delete, deletePrefix: store.deletePrefix }
      const cache = createCache({ store: synchronous ? store : asyncOnly })
      handler = createYatagarasu(cachedConfig({}), { fetch: origin.fetch, cache })
      const seen: unknown[] = []
      for (const key of ['a', 'a', 'b', 'a']) {
        const response = await handler(new Request(`http://proxy.test/cdn/${key}`, { headers: { 'x-request-id': 'fixed' } }), work.context)
        seen.push(response.status, [...response.headers], await response.text())
        await work.flush()
      }
      seen.push(cache.stats().buckets.map(({ bucket, hits, misses, bypasses }) => ({ bucket, hits, misses, bypasses })))
      answers.push(seen)
    }
    expect(answers[0]).toEqual(answers[1])
    expect(JSON.stringify(answers[0])).toContain('"hits":2')
  })

  it('never serves an entry past its TTL, even from a store that keeps it', async () => {
    const clock = testClock()
    const forever = memoryStore() // its own clock is the real one: it would keep the entry
    handler = createYatagarasu(cachedConfig({ ttl: 1 }), { fetch: origin.fetch, cache: createCache({ store: forever, now: clock.now }) })
    await status('a')
    clock.advance(1000)
    expect(await status('a')).toBe('MISS')
  })
})
