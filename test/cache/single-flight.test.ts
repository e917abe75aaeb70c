/**
 * Single-flight: concurrent misses for one key make one S3 request; the others wait
 * for its result, or go to S3 themselves when it can't serve them. What overlaps is
 * arranged by gates and turns of the event loop, never by time.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { createCache, createYatagarasu, type CacheStore, type FetchHandler } from '../../src/index.js'
import { backgroundWork, cachedConfig, chunkGate, fakeOrigin, latch, settle, type FakeOrigin } from '../support/cache-origin.js'
import { nextTurn } from '../support/wait.js'

let origin: FakeOrigin
let handler: FetchHandler
let work: ReturnType<typeof backgroundWork>

const s3Count = (key: string) => origin.requests.filter((r) => r.key === key).length

async function fetchMany(count: number, path: string, init?: RequestInit) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const response = await handler(new Request(`http://proxy.test${path}`, init), work.context)
      const body = await response.text().catch(() => 'ERROR')
      return { status: response.status, cache: response.headers.get('x-cache'), body }
    }),
  )
}

function tally(results: Array<{ cache: string | null }>) {
  const counts: Record<string, number> = {}
  for (const { cache } of results) counts[cache ?? 'none'] = (counts[cache ?? 'none'] ?? 0) + 1
  return counts
}

beforeEach(() => {
  origin = fakeOrigin()
  work = backgroundWork()
  handler = createYatagarasu(cachedConfig({ maxItemSize: 1024 }), { fetch: origin.fetch })
})

describe('single-flight', () => {
  it('100 concurrent first requests for one small object reach S3 once', async () => {
    origin.put('logo.png', { body: 'x'.repeat(500), chunkSize: 100, turns: 1 })
    const results = await fetchMany(100, '/cdn/logo.png')
    expect(s3Count('logo.png')).toBe(1)
    expect(results.every((r) => r.status === 200 && r.body === 'x'.repeat(500))).toBe(true)
    expect(tally(results)).toEqual({ MISS: 1, HIT: 99 })
    await work.flush()
    expect((await fetchMany(1, '/cdn/logo.png'))[0]?.cache).toBe('HIT')
    expect(s3Count('logo.png')).toBe(1)
  })

  it('holds even when the store is slow to answer', async () => {
    const slow = new Map<string, Parameters<CacheStore['set']>[1]>()
    const writing = latch()
    const landing = latch()
    let gets = 0
    const store: CacheStore = {
      get: async (key) => {
        await nextTurn(gets++ % 5) // answers out of order: 0 to 4 turns late
        return slow.get(key)
      },
      set: async (key, entry) => {
        writing.open()
        await landing.promise
        slow.set(key, entry)
      },
      delete: async (key) => slow.delete(key),
    }
    handler = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache: createCache({ store }) })
    origin.put('a.txt', 'aaa')
    const first = fetchMany(50, '/cdn/a.txt')
    await writing.promise
    // these arrive while the write is landing: served from the finished fill, not S3
    const later = fetchMany(50, '/cdn/a.txt')
    await settle()
    landing.open()
    await Promise.all([first, later])
    expect(s3Count('a.txt')).toBe(1)
  })

  it('a HEAD or a conditional request arriving during a fill waits for it', async () => {
    const body = chunkGate()
    origin.put('page.html', { body: 'page', headers: { ETag: '"p1"' }, gate: body.gate })
    const getting = fetchMany(1, '/cdn/page.html')
    await settle(1) // the GET leads the fill; S3's body is held
    const heading = fetchMany(1, '/cdn/page.html', { method: 'HEAD' })
    const asking = fetchMany(1, '/cdn/page.html', { headers: { 'If-None-Match': '"p1"' } })
    await settle()
    body.open()
    const [get, head, conditional] = await Promise.all([getting, heading, asking])
    expect(get[0]?.cache).toBe('MISS')
    expect([head[0]?.status, head[0]?.cache]).toEqual([200, 'HIT'])
    expect([conditional[0]?.status, conditional[0]?.cache]).toEqual([304, 'HIT'])
    expect(s3Count('page.html')).toBe(1)
  })

  it('waiters for an object that turns out too large go to S3 themselves', async () => {
    origin.put('big.bin', { body: 'b'.repeat(4000), chunkSize: 1000, turns: 1 })
    const results = await fetchMany(5, '/cdn/big.bin')
    expect(results.every((r) => r.body === 'b'.repeat(4000))).toBe(true)
    expect(tally(results)).toEqual({ MISS: 5 })
    expect(s3Count('big.bin')).toBe(5)
  })

  it('waiters for an object found too large while streaming go to S3 themselves', async () => {
    origin.put('chunked.bin', { body: 'c'.repeat(4000), chunkSize: 500, turns: 1, noLength: true })
    const results = await fetchMany(4, '/cdn/chunked.bin')
    expect(results.every((r) => r.body === 'c'.repeat(4000))).toBe(true)
    expect(s3Count('chunked.bin')).toBe(4)
  })

  it('waiters for an uncacheable answer (no-store, 404) go to S3 themselves', async () => {
    origin.put('private.txt', { body: 'mine', headers: { 'Cache-Control': 'no-store' }, turns: 1 })
    const results = await fetchMany(5, '/cdn/private.txt')
    expect(results.every((r) => r.body === 'mine')).toBe(true)
    expect(s3Count('private.txt')).toBe(5)

    const missing = await fetchMany(3, '/cdn/missing.txt')
    expect(missing.map((r) => r.status)).toEqual([404, 404, 404])
    expect(s3Count('missing.txt')).toBe(3)
  })

  it('when the leading transfer fails, one waiter leads a new fill and the others wait on it', async () => {
    origin.put('flaky.txt', { body: 'f'.repeat(600), chunkSize: 100, turns: 2, failAfter: 300 })
    const pending = fetchMany(10, '/cdn/flaky.txt')
    while (s3Count('flaky.txt') === 0) await settle(1)
    origin.put('flaky.txt', { body: 'f'.repeat(600), chunkSize: 100, turns: 1 }) // the retry succeeds
    const results = await pending
    expect(results.filter((r) => r.body === 'ERROR')).toHaveLength(1) // the leader's client saw the failure
    expect(results.filter((r) => r.body === 'f'.repeat(600))).toHaveLength(9)
    expect(s3Count('flaky.txt')).toBe(2)
  })

  it("the leader's client leaving does not fail the waiters", async () => {
    const body = chunkGate()
    origin.put('obj.txt', { body: 'o'.repeat(600), chunkSize: 100, gate: body.gate })
    const controller = new AbortController()
    const leader = handler(new Request('http://proxy.test/cdn/obj.txt', { signal: controller.signal }), work.context)
    await settle(2)
    const waiters = fetchMany(5, '/cdn/obj.txt')
    const response = await leader
    const reader = response.body!.getReader()
    body.release(1)
    await reader.read()
    controller.abort() // 100 of 600 bytes in
    body.open()
    const results = await waiters
    expect(results.every((r) => r.status === 200 && r.body === 'o'.repeat(600))).toBe(true)
    expect(s3Count('obj.txt')).toBe(2)
    expect((await origin.requests[0]!.done).completed).toBe(false)
  })

  it('a waiter whose own client leaves stops waiting', async () => {
    const body = chunkGate()
    origin.put('slow.txt', { body: 's'.repeat(100), gate: body.gate })
    const leader = fetchMany(1, '/cdn/slow.txt')
    await settle(2)
    const controller = new AbortController()
    const waiter = handler(new Request('http://proxy.test/cdn/slow.txt', { signal: controller.signal }), work.context)
    controller.abort()
    expect((await waiter).status).toBe(499) // while S3's body is still held
    body.open()
    expect((await leader)[0]?.body).toBe('s'.repeat(100))
    expect(s3Count('slow.txt')).toBe(1)
  })
})
