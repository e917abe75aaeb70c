/**
 * `staleWhileRevalidate` and `staleIfError`: expired entries served as `X-Cache: STALE`
 * within their bounds, one background conditional GET per key, a 304 renewing the entry
 * without a download, a 200 replacing it, S3 failures answered from the stale entry.
 * Time moves by an injected clock only.
 */
import { SignJWT } from 'jose'
import { beforeEach, describe, expect, it } from 'vitest'
import { createCache, createYatagarasu, memoryStore, type CacheStore, type FetchHandler, type YatagarasuCache, type YatagarasuConfig } from '../../src/index.js'
import { backgroundWork, cachedConfig, fakeOrigin, testClock, type FakeOrigin } from '../support/cache-origin.js'
import { nextTurn } from '../support/wait.js'

let origin: FakeOrigin
let clock: ReturnType<typeof testClock>
let work: ReturnType<typeof backgroundWork>
let cache: YatagarasuCache
let handler: FetchHandler

const gets = (key: string) => origin.requests.filter((r) => r.key === key && r.method === 'GET')

async function get(path: string, init?: RequestInit) {
  const response = await handler(new Request(`http://proxy.test${path}`, init), work.context)
  return { status: response.status, cache: response.headers.get('x-cache'), etag: response.headers.get('etag'), body: await response.text() }
}

function setup(block: NonNullable<YatagarasuConfig['buckets'][number]['cache']>, store?: CacheStore) {
  cache = createCache({ now: clock.now, ...(store !== undefined && { store }) })
  handler = createYatagarasu(cachedConfig(block), { fetch: origin.fetch, cache })
}

beforeEach(() => {
  origin = fakeOrigin()
  clock = testClock()
  work = backgroundWork()
})

describe('stale_while_revalidate', () => {
  beforeEach(() => {
    setup({ ttl: 60, staleWhileRevalidate: 30 })
    origin.put('a.txt', { body: 'version one', headers: { ETag: '"v1"', 'Content-Type': 'text/plain' } })
  })

  it('serves an expired entry at once as STALE, and a 304 renews it without a download', async () => {
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'MISS', body: 'version one' })
    await work.flush()
    clock.advance(60_000 + 10_000)
    expect(await get('/cdn/a.txt')).toMatchObject({ status: 200, cache: 'STALE', body: 'version one', etag: '"v1"' })
    await work.flush()
    const revalidation = gets('a.txt')[1]!
    expect(revalidation.headers.get('if-none-match')).toBe('"v1"')
    expect(await revalidation.done).toEqual({ completed: true, bytesSent: 0 })
    // renewed: fresh again for a whole ttl from the 304
    clock.advance(59_000)
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'HIT', body: 'version one' })
    expect(gets('a.txt')).toHaveLength(2)
  })

  it('many stale hits make one revalidation', async () => {
    await get('/cdn/a.txt')
    await work.flush()
    clock.advance(61_000)
    const results = await Promise.all(Array.from({ length: 50 }, () => get('/cdn/a.txt')))
    expect(results.every((r) => r.cache === 'STALE' && r.body === 'version one')).toBe(true)
    await work.flush()
    expect(gets('a.txt')).toHaveLength(2)
    // and a HEAD that is stale revalidates too (once more, the entry being stale again later)
    clock.advance(61_000)
    const head = await handler(new Request('http://proxy.test/cdn/a.txt', { method: 'HEAD' }), work.context)
    expect(head.headers.get('x-cache')).toBe('STALE')
    await work.flush()
    expect(gets('a.txt')).toHaveLength(3)
    expect(gets('a.txt')[2]!.headers.get('if-none-match')).toBe('"v1"')
  })

  it('a 200 replaces the entry', async () => {
    await get('/cdn/a.txt')
    await work.flush()
    origin.put('a.txt', { body: 'version two', headers: { ETag: '"v2"', 'Content-Type': 'text/plain' } })
    clock.advance(61_000)
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'STALE', body: 'version one' })
    await work.flush()
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'HIT', body: 'version two', etag: '"v2"' })
    expect(gets('a.txt')).toHaveLength(2)
  })

  it('a stale conditional request gets a 304 from the stale entry', async () => {
    await get('/cdn/a.txt')
    await work.flush()
    clock.advance(61_000)
    const response = await get('/cdn/a.txt', { headers: { 'If-None-Match': '"v1"' } })
    expect(response).toMatchObject({ status: 304, cache: 'STALE' })
    await work.flush()
    expect(gets('a.txt')).toHaveLength(2)
  })

  it('past the window the entry is not served: the request goes to S3', async () => {
    await get('/cdn/a.txt')
    await work.flush()
    clock.advance(60_000 + 30_000)
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'MISS', body: 'version one' })
    expect(gets('a.txt')).toHaveLength(2)
    expect(gets('a.txt')[1]!.headers.get('if-none-match')).toBeNull()
  })

  it('a failed revalidation keeps the stale entry; the next stale hit tries again', async () => {
    await get('/cdn/a.txt')
    await work.flush()
    origin.put('a.txt', { body: '', status: 500 })
    clock.advance(61_000)
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'STALE', body: 'version one' })
    await work.flush()
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'STALE', body: 'version one' })
    await work.flush()
    expect(gets('a.txt')).toHaveLength(3)
  })

  it('a purge during the revalidation wins: nothing is stored afterwards', async () => {
    await get('/cdn/a.txt')
    await work.flush()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    origin.put('a.txt', { body: 'version two', headers: { ETag: '"v2"' }, gate: () => gate })
    clock.advance(61_000)
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'STALE' })
    await cache.purge({ bucket: 'cdn', key: 'a.txt' })
    release()
    await work.flush()
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'MISS', body: 'version two' })
  })

  it('off by default: an expired entry is a miss', async () => {
    setup({ ttl: 60 })
    await get('/cdn/a.txt')
    await work.flush()
    clock.advance(61_000)
    expect(await get('/cdn/a.txt')).toMatchObject({ cache: 'MISS' })
  })
})

describe('stale_if_error', () => {
  beforeEach(() => {
    setup({ ttl: 60, staleIfError: 300 })
    origin.put('b.txt', { body: 'kept', headers: { ETag: '"b1"' } })
  })

  it('serves the stale entry when S3 answers 5xx, within its bound only', async () => {
    await get('/cdn/b.txt')
    await work.flush()
    origin.put('b.txt', { body: '', status: 503 })
    clock.advance(61_000)
    expect(await get('/cdn/b.txt')).toMatchObject({ status: 200, cache: 'STALE', body: 'kept' })
    clock.advance(300_000)
    const beyond = await get('/cdn/b.txt')
    expect(beyond.status).toBe(502)
    expect(beyond.body).not.toContain('kept')
  })

  it('serves the stale entry when S3 cannot be reached, to waiters too', async () => {
    await get('/cdn/b.txt')
    await work.flush()
    const reachable = origin.fetch
    handler = createYatagarasu(cachedConfig({ ttl: 60, staleIfError: 300 }), {
      cache,
      fetch: async () => {
        await nextTurn() // the others arrive meanwhile and wait on this request
        throw new TypeError('connect ECONNREFUSED')
      },
    })
    clock.advance(120_000)
    const results = await Promise.all(Array.from({ length: 10 }, () => get('/cdn/b.txt')))
    expect(results.every((r) => r.status === 200 && r.cache === 'STALE' && r.body === 'kept')).toBe(true)
    void reachable
  })

  it('a fresh answer from S3 replaces the stale entry', async () => {
    await get('/cdn/b.txt')
    await work.flush()
    origin.put('b.txt', { body: 'new', headers: { ETag: '"b2"' } })
    clock.advance(61_000)
    expect(await get('/cdn/b.txt')).toMatchObject({ cache: 'MISS', body: 'new' })
    await work.flush()
    expect(await get('/cdn/b.txt')).toMatchObject({ cache: 'HIT', body: 'new' })
  })

  it('a 404 from S3 is not an S3 failure: the object is gone', async () => {
    await get('/cdn/b.txt')
    await work.flush()
    origin.objects.clear()
    clock.advance(61_000)
    expect(await get('/cdn/b.txt')).toMatchObject({ status: 404 })
  })

  it('works with a store that streams its entries', async () => {
    setup({ ttl: 60, staleIfError: 300 }, streamingStore(memoryStore({ now: clock.now })))
    await get('/cdn/b.txt')
    await work.flush()
    origin.put('b.txt', { body: '', status: 502 })
    clock.advance(61_000)
    expect(await get('/cdn/b.txt')).toMatchObject({ cache: 'STALE', body: 'kept' })
  })
})

describe('a store that streams (getStream/setStream)', () => {
  it('a 304 renews the entry from the store\'s own copy', async () => {
    const inner = memoryStore({ now: clock.now })
    setup({ ttl: 60, staleWhileRevalidate: 30 }, streamingStore(inner))
    origin.put('s.bin', { body: 'streamed body', headers: { ETag: '"s1"' } })
    await get('/cdn/s.bin')
    await work.flush()
    clock.advance(61_000)
    expect(await get('/cdn/s.bin')).toMatchObject({ cache: 'STALE', body: 'streamed body' })
    await work.flush()
    expect(await gets('s.bin')[1]!.done).toEqual({ completed: true, bytesSent: 0 })
    const renewed = await inner.get('cdn/s.bin')
    expect(renewed?.freshUntil).toBe(clock.now() + 60_000)
    expect(await get('/cdn/s.bin')).toMatchObject({ cache: 'HIT', body: 'streamed body' })
  })
})

/** A memory store seen through the streaming interface, as a disk store offers it. */
function streamingStore(inner: CacheStore): CacheStore {
  return {
    get: (key) => inner.get(key),
    set: (key, entry) => inner.set(key, entry),
    delete: (key) => inner.delete(key),
    async getStream(key) {
      const entry = await inner.get(key)
      if (entry === undefined) return undefined
      const { body, ...meta } = entry
      return { ...meta, size: body.byteLength, body: new Blob([body as Uint8Array<ArrayBuffer>]).stream() }
    },
    async setStream(key, meta, body) {
      const bytes = new Uint8Array(await new Response(body).arrayBuffer())
      if (bytes.byteLength !== meta.size) throw new Error('wrong size')
      await inner.set(key, { ...meta, body: bytes })
    },
  }
}

describe('auth still comes first', () => {
  it('a stale entry of an auth bucket is refused without a token', async () => {
    const secret = 'a-test-secret-that-is-long-enough-for-hs256!'
    const base = cachedConfig({ ttl: 60, staleWhileRevalidate: 30, staleIfError: 300 }).buckets[0]!
    cache = createCache({ now: clock.now })
    handler = createYatagarasu({ buckets: [{ ...base, auth: { enabled: true, jwt: { secret, algorithm: 'HS256' } } } as YatagarasuConfig['buckets'][number]] }, { fetch: origin.fetch, cache })
    origin.put('p.txt', { body: 'PRIVATE', headers: { ETag: '"p"' } })
    const token = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret))
    expect(await get('/cdn/p.txt', { headers: { Authorization: `Bearer ${token}` } })).toMatchObject({ cache: 'MISS' })
    await work.flush()
    clock.advance(61_000)
    const anonymous = await get('/cdn/p.txt')
    expect(anonymous.status).toBe(401)
    expect(anonymous.body).not.toContain('PRIVATE')
    expect(await get('/cdn/p.txt', { headers: { Authorization: `Bearer ${token}` } })).toMatchObject({ cache: 'STALE', body: 'PRIVATE' })
  })
})
