/**
 * Tee, don't buffer: on a miss the body streams to the client and into the cache copy
 * at once; only a transfer that completes is stored; a client that leaves cancels S3.
 * S3 is a fake origin whose chunks a test releases one by one (no timing involved).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { createCache, createYatagarasu, memoryStore, type CacheStore, type FetchHandler } from '../../src/index.js'
import { backgroundWork, cachedConfig, chunkGate, fakeOrigin, settle, type FakeOrigin } from '../support/cache-origin.js'

let origin: FakeOrigin
let handler: FetchHandler
let work: ReturnType<typeof backgroundWork>

const bytes = (size: number, seed = 7) => new Uint8Array(size).map((_, i) => (i * seed) % 256)

async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<number> {
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return total
    total += value.byteLength
  }
}

async function status(path = '/cdn/obj.bin'): Promise<string | null> {
  const response = await handler(new Request(`http://proxy.test${path}`), work.context)
  await response.arrayBuffer()
  await work.flush()
  return response.headers.get('x-cache')
}

beforeEach(() => {
  origin = fakeOrigin()
  work = backgroundWork()
  handler = createYatagarasu(cachedConfig({ maxItemSize: 64 * 1024 }), { fetch: origin.fetch })
})

describe('a miss streams to the client while the copy is kept', () => {
  it('the first byte reaches the client before S3 has sent the rest; the object is stored at the end', async () => {
    const pace = chunkGate()
    origin.put('obj.bin', { body: bytes(4096), chunkSize: 1024, gate: pace.gate })
    const response = await handler(new Request('http://proxy.test/cdn/obj.bin'), work.context)
    expect(response.headers.get('x-cache')).toBe('MISS')
    const reader = response.body!.getReader()
    pace.release()
    const first = await reader.read()
    expect(first.value?.byteLength).toBe(1024)
    expect(origin.requests[0]!.bytesSent).toBe(1024) // S3 has sent a quarter; the client already has it
    pace.release(4)
    expect(1024 + (await readAll(reader))).toBe(4096)
    await work.flush()
    expect(await status()).toBe('HIT')
    expect(origin.requests).toHaveLength(1)
  })

  it('the client is not held back by the cache write', async () => {
    const hanging: CacheStore = {
      get: async () => undefined,
      set: () => new Promise(() => {}),
      delete: async () => false,
    }
    handler = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache: createCache({ store: hanging }) })
    origin.put('obj.bin', { body: bytes(3000), chunkSize: 1000 })
    const pending: Promise<unknown>[] = []
    const response = await handler(new Request('http://proxy.test/cdn/obj.bin'), { waitUntil: (p) => void pending.push(p) })
    expect((await response.arrayBuffer()).byteLength).toBe(3000)
    expect(pending).toHaveLength(1) // the write runs under waitUntil, still pending
  })

  it('works without a runtime waitUntil', async () => {
    origin.put('obj.bin', 'plain')
    const response = await handler(new Request('http://proxy.test/cdn/obj.bin'))
    expect(await response.text()).toBe('plain')
    await settle()
    expect(await status()).toBe('HIT')
  })
})

describe('only a complete transfer is stored', () => {
  it('a client that cancels mid-body cancels the S3 transfer, and nothing is stored', async () => {
    const pace = chunkGate()
    origin.put('obj.bin', { body: bytes(8192), chunkSize: 1024, gate: pace.gate })
    const response = await handler(new Request('http://proxy.test/cdn/obj.bin'), work.context)
    const reader = response.body!.getReader()
    pace.release()
    await reader.read()
    await reader.cancel()
    expect(await origin.requests[0]!.done).toEqual({ completed: false, bytesSent: 1024 })
    await work.flush()
    pace.release(100)
    expect(await status()).toBe('MISS')
    expect(origin.requests).toHaveLength(2)
  })

  it('a body S3 had already sent completely is stored even if the client then leaves', async () => {
    origin.put('obj.bin', { body: bytes(3000), chunkSize: 1000 })
    const response = await handler(new Request('http://proxy.test/cdn/obj.bin'), work.context)
    await settle() // the fill reads ahead to the end while the client reads nothing
    expect((await origin.requests[0]!.done).completed).toBe(true)
    await response.body!.cancel()
    await work.flush()
    expect(await status()).toBe('HIT')
  })

  it('an aborted request (client disconnect) aborts S3, and nothing is stored', async () => {
    const pace = chunkGate()
    origin.put('obj.bin', { body: bytes(8192), chunkSize: 1024, gate: pace.gate })
    const controller = new AbortController()
    const response = await handler(new Request('http://proxy.test/cdn/obj.bin', { signal: controller.signal }), work.context)
    const reader = response.body!.getReader()
    pace.release()
    await reader.read()
    controller.abort()
    await expect(readAll(reader)).rejects.toThrow()
    expect((await origin.requests[0]!.done).completed).toBe(false)
    await work.flush()
    pace.release(100)
    expect(await status()).toBe('MISS')
  })

  it('an S3 failure mid-body reaches the client as an error, and nothing is stored', async () => {
    origin.put('obj.bin', { body: bytes(4096), chunkSize: 1024, failAfter: 2048 })
    const response = await handler(new Request('http://proxy.test/cdn/obj.bin'), work.context)
    await expect(response.arrayBuffer()).rejects.toThrow()
    await work.flush()
    origin.put('obj.bin', { body: bytes(4096), chunkSize: 1024 })
    expect(await status()).toBe('MISS')
    expect(await status()).toBe('HIT')
  })

  it('a body shorter than its Content-Length is not stored', async () => {
    origin.put('obj.bin', { body: 'short', noLength: true, headers: { 'Content-Length': '50' } })
    await status()
    expect(await status()).toBe('MISS')
  })
})

describe('large objects stay pure streams', () => {
  it('over maxItemSize by Content-Length: a client cancel cancels S3 at once', async () => {
    const pace = chunkGate()
    origin.put('obj.bin', { body: bytes(256 * 1024), chunkSize: 16 * 1024, gate: pace.gate })
    const response = await handler(new Request('http://proxy.test/cdn/obj.bin'), work.context)
    expect(response.headers.get('x-cache')).toBe('MISS')
    const reader = response.body!.getReader()
    pace.release()
    await reader.read()
    await reader.cancel()
    expect(await origin.requests[0]!.done).toEqual({ completed: false, bytesSent: 16 * 1024 })
  })

  it('found too large while streaming: the copy is dropped and S3 is read only as fast as the client reads', async () => {
    handler = createYatagarasu(cachedConfig({ maxItemSize: 2048 }), { fetch: origin.fetch })
    origin.put('obj.bin', { body: bytes(20 * 1024), chunkSize: 1024, noLength: true })
    const response = await handler(new Request('http://proxy.test/cdn/obj.bin'), work.context)
    const reader = response.body!.getReader()
    for (let i = 0; i < 5; i++) await reader.read()
    await settle()
    // read ahead while copying (3 chunks, the third over the limit), then one chunk per read
    expect(origin.requests[0]!.bytesSent).toBeLessThanOrEqual(6 * 1024)
    expect(5 * 1024 + (await readAll(reader))).toBe(20 * 1024)
    await work.flush()
    expect(await status()).toBe('MISS')
  })
})

describe('the store behind the fill', () => {
  it('is the memory store, byte-bounded, by default; a custom one receives complete entries', async () => {
    const store = memoryStore({ maxSize: 1024 * 1024 })
    const sets: string[] = []
    const spy: CacheStore = { ...store, set: async (key, entry) => void sets.push(`${key}:${entry.body.byteLength}`) }
    handler = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache: createCache({ store: spy }) })
    origin.put('dir/obj.bin', { body: bytes(5000), chunkSize: 999 })
    await status('/cdn/dir/obj.bin')
    expect(sets).toEqual(['cdn/dir/obj.bin:5000'])
  })
})

describe('hits share the stored bytes', () => {
  it("every hit hands the runtime's bytesResponse the stored bytes themselves, never a copy", async () => {
    origin.put('obj.bin', { body: bytes(5000), headers: { etag: '"e"' } })
    expect(await status()).toBe('MISS')
    const given: Array<{ bytes: Uint8Array | null; status: number | undefined }> = []
    const context = {
      ...work.context,
      bytesResponse: (body: Uint8Array | null, init: ResponseInit) => {
        given.push({ bytes: body, status: init.status })
        return new Response(body?.slice() ?? null, init)
      },
    }
    for (const init of [{}, {}, { method: 'HEAD' }, { headers: { 'if-none-match': '"e"' } }]) {
      const response = await handler(new Request('http://proxy.test/cdn/obj.bin', init), context)
      expect(response.headers.get('x-cache')).toBe('HIT')
      await response.arrayBuffer()
    }
    expect(given.map((g) => [g.bytes?.byteLength ?? null, g.status])).toEqual([[5000, 200], [5000, 200], [null, 200], [null, 304]])
    expect(given[0]!.bytes).toBe(given[1]!.bytes)
    expect(given[0]!.bytes).toEqual(bytes(5000))
  })
})
