/**
 * Stores that write and read bodies as streams (`setStream`/`getStream`, the disk
 * store): a fill is handed over chunk by chunk at the pace of the slower of client and
 * store, never collected whole; only a complete transfer is kept; a hit streams.
 * The store here keeps bodies in memory but records how it was fed.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import {
  createCache,
  createYatagarasu,
  type CacheEntry,
  type CacheEntryMeta,
  type CacheStore,
  type FetchHandler,
  type StreamedCacheEntry,
  type YatagarasuCache,
} from '../../src/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { backgroundWork, cachedConfig, fakeOrigin, settle, type FakeOrigin } from '../support/cache-origin.js'

interface StreamingTestStore extends CacheStore {
  readonly entries: Map<string, { meta: CacheEntryMeta; body: Uint8Array }>
  /** Every setStream call: its outcome once settled. */
  readonly writes: Array<{ key: string; outcome?: 'stored' | 'failed' }>
  setCalls: number
  /** When set, setStream reads one chunk per `gate()`. */
  gate?: () => Promise<void>
  /** Chunks setStream has read so far, all writes together. */
  chunksRead: number
  /** Streamed bodies handed out by getStream, and whether each was cancelled. */
  readonly served: Array<{ cancelled: boolean }>
  failWrites?: boolean
}

function streamingStore(): StreamingTestStore {
  const store: StreamingTestStore = {
    entries: new Map(),
    writes: [],
    setCalls: 0,
    chunksRead: 0,
    served: [],
    async get() {
      throw new Error('get must not be used when getStream exists')
    },
    async set() {
      store.setCalls++
    },
    async delete(key) {
      return store.entries.delete(key)
    },
    async getStream(key): Promise<StreamedCacheEntry | undefined> {
      const found = store.entries.get(key)
      if (found === undefined) return undefined
      const record = { cancelled: false }
      store.served.push(record)
      let sent = false
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent) return controller.close()
          sent = true
          controller.enqueue(found.body.slice())
        },
        cancel() {
          record.cancelled = true
        },
      })
      return { ...found.meta, body }
    },
    async setStream(key, meta, body) {
      const write: (typeof store.writes)[number] = { key }
      store.writes.push(write)
      const reader = body.getReader()
      const chunks: Uint8Array[] = []
      try {
        for (;;) {
          if (store.gate) await store.gate()
          const { done, value } = await reader.read()
          if (done) break
          store.chunksRead++
          chunks.push(value)
        }
        if (store.failWrites) throw new Error('disk full')
      } catch (error) {
        write.outcome = 'failed'
        throw error
      }
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
      let offset = 0
      for (const chunk of chunks) {
        out.set(chunk, offset)
        offset += chunk.byteLength
      }
      store.entries.set(key, { meta, body: out })
      write.outcome = 'stored'
    },
  }
  return store
}

function gated() {
  const waiting: Array<() => void> = []
  let credits = 0
  return {
    gate: () => {
      if (credits > 0) {
        credits--
        return Promise.resolve()
      }
      return new Promise<void>((resolve) => waiting.push(resolve))
    },
    release(count = 1) {
      for (let i = 0; i < count; i++) {
        const next = waiting.shift()
        if (next) next()
        else credits++
      }
    },
  }
}

const bytes = (size: number, seed = 7) => new Uint8Array(size).map((_, i) => (i * seed) % 256)

let origin: FakeOrigin
let store: StreamingTestStore
let cache: YatagarasuCache
let handler: FetchHandler
let work: ReturnType<typeof backgroundWork>
let warnings: Array<{ message: string; fields?: Record<string, unknown> }>

function request(path = '/cdn/big.bin', init?: RequestInit) {
  return handler(new Request(`http://proxy.test${path}`, init), work.context)
}

beforeEach(() => {
  origin = fakeOrigin()
  store = streamingStore()
  work = backgroundWork()
  warnings = []
  const logger: Logger = { debug() {}, info() {}, error() {}, warn: (message, fields) => void warnings.push({ message, ...(fields && { fields }) }) }
  cache = createCache({ store })
  handler = createYatagarasu(cachedConfig({ maxItemSize: '1GB', maxSize: '1GB' }), { fetch: origin.fetch, cache, logger })
})

describe('a fill with a known length goes to setStream', () => {
  it('is written as it streams, never through set, and the next request is a hit streamed from the store', async () => {
    origin.put('big.bin', { body: bytes(64 * 1024), chunkSize: 4096, headers: { 'content-type': 'application/x-test', etag: '"v1"' } })
    const miss = await request()
    expect(miss.headers.get('x-cache')).toBe('MISS')
    expect(new Uint8Array(await miss.arrayBuffer())).toEqual(bytes(64 * 1024))
    await work.flush()
    expect(store.setCalls).toBe(0)
    expect(store.writes).toEqual([{ key: 'cdn/big.bin', outcome: 'stored' }])
    expect(store.chunksRead).toBe(16)
    const stored = store.entries.get('cdn/big.bin')!
    expect(stored.meta.size).toBe(64 * 1024)
    expect(stored.meta.headers).toMatchObject({ 'content-type': 'application/x-test', etag: '"v1"' })

    const hit = await request()
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(hit.headers.get('content-length')).toBe(String(64 * 1024))
    expect(hit.headers.get('content-type')).toBe('application/x-test')
    expect(new Uint8Array(await hit.arrayBuffer())).toEqual(bytes(64 * 1024))
    expect(origin.requests).toHaveLength(1)
  })

  it('reads S3 at the pace of the slower side: a store that has taken N chunks has been offered at most N + 2', async () => {
    const pace = gated()
    store.gate = pace.gate
    origin.put('big.bin', { body: bytes(64 * 1024), chunkSize: 1024 })
    const response = await request()
    // The client reads as fast as it can; the store is held back.
    const reading = response.arrayBuffer()
    for (let taken = 0; taken < 64; taken++) {
      await settle(5)
      expect(origin.requests[0]!.bytesSent).toBeLessThanOrEqual((taken + 2) * 1024)
      pace.release()
    }
    pace.release(2)
    expect((await reading).byteLength).toBe(64 * 1024)
    await work.flush()
    expect(store.writes[0]!.outcome).toBe('stored')
  })

  it('a client that leaves cancels S3 at once and nothing is stored', async () => {
    origin.put('big.bin', { body: bytes(64 * 1024), chunkSize: 1024 })
    const response = await request()
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    expect((await origin.requests[0]!.done).completed).toBe(false)
    await work.flush()
    expect(store.writes[0]!.outcome).toBe('failed')
    expect(store.entries.size).toBe(0)
    expect(warnings).toEqual([])
  })

  it('a body that ends short of its Content-Length is not stored', async () => {
    origin.put('big.bin', { body: bytes(8192), chunkSize: 1024, failAfter: 4096 })
    const response = await request()
    await expect(response.arrayBuffer()).rejects.toThrow()
    await work.flush()
    expect(store.writes[0]!.outcome).toBe('failed')
    expect(store.entries.size).toBe(0)
  })

  it('a failing store write is logged and the client still gets the whole body', async () => {
    store.failWrites = true
    origin.put('big.bin', { body: bytes(8192), chunkSize: 1024 })
    const response = await request()
    expect((await response.arrayBuffer()).byteLength).toBe(8192)
    await work.flush()
    expect(warnings.map((w) => w.message)).toEqual(['cache store failed; serving from S3'])
    expect(warnings[0]!.fields).toMatchObject({ bucket: 'cdn', operation: 'set' })
  })

  it('a purge during the fill stops the write; the client still gets the body', async () => {
    const pace = gated()
    origin.put('big.bin', { body: bytes(8192), chunkSize: 1024, gate: pace.gate })
    const response = await request()
    const reading = response.arrayBuffer()
    pace.release(2)
    await settle()
    await cache.purge({ bucket: 'cdn', key: 'big.bin' })
    pace.release(10)
    expect((await reading).byteLength).toBe(8192)
    await work.flush()
    expect(store.writes[0]!.outcome).toBe('failed')
    expect(store.entries.size).toBe(0)
    expect(warnings).toEqual([])
  })

  it('requests arriving during the fill wait for it and are answered from the store: S3 is asked once', async () => {
    const pace = gated()
    origin.put('big.bin', { body: bytes(8192), chunkSize: 1024, gate: pace.gate })
    const first = await request()
    const reading = first.arrayBuffer()
    const waiters = Array.from({ length: 5 }, () => request())
    pace.release(20)
    await reading
    const answers = await Promise.all(waiters)
    for (const answer of answers) {
      expect(answer.headers.get('x-cache')).toBe('HIT')
      expect(new Uint8Array(await answer.arrayBuffer())).toEqual(bytes(8192))
    }
    expect(origin.requests).toHaveLength(1)
  })

  it('an object without Content-Length is collected as before and given to set', async () => {
    origin.put('big.bin', { body: bytes(2048), noLength: true })
    await (await request()).arrayBuffer()
    await work.flush()
    expect(store.writes).toEqual([])
    expect(store.setCalls).toBe(1)
  })
})

describe('a streamed hit', () => {
  beforeEach(async () => {
    origin.put('big.bin', { body: bytes(4096), headers: { etag: '"v1"' } })
    await (await request()).arrayBuffer()
    await work.flush()
  })

  it('HEAD answers the headers and closes the stored body', async () => {
    const head = await request('/cdn/big.bin', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('x-cache')).toBe('HIT')
    expect(head.headers.get('content-length')).toBe('4096')
    expect(store.served.at(-1)!.cancelled).toBe(true)
  })

  it('a matching If-None-Match answers 304 and closes the stored body', async () => {
    const response = await request('/cdn/big.bin', { headers: { 'if-none-match': '"v1"' } })
    expect(response.status).toBe(304)
    expect(store.served.at(-1)!.cancelled).toBe(true)
  })

  it('an entry past its TTL is closed and fetched again', async () => {
    const entry = store.entries.get('cdn/big.bin')!
    store.entries.set('cdn/big.bin', { ...entry, meta: { ...entry.meta, expiresAt: Date.now() - 1 } })
    const response = await request()
    expect(response.headers.get('x-cache')).toBe('MISS')
    await response.arrayBuffer()
    expect(store.served.at(-1)!.cancelled).toBe(true)
    expect(origin.requests).toHaveLength(2)
  })
})

// A store with `get`/`set` only is used as before (type-level check that CacheEntry stays assignable).
const _plain: CacheEntry = { headers: {}, body: new Uint8Array(), storedAt: 0, expiresAt: 1 }
void _plain
