/**
 * Cache layers (`layeredStore`): checked in order and filled on the way back, each
 * layer keeping what fits its own item size, a failing layer skipped (reported,
 * counted) rather than failing the request, purges announced to other instances over
 * a bus; and the cache's own figures (`cache.stats()`) and purge of everything.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createCache,
  createYatagarasu,
  layeredStore,
  memoryStore,
  silentLogger,
  type CacheEntry,
  type CacheStore,
  type PurgeBus,
  type PurgeMessage,
} from '../../src/index.js'
import { diskStore } from '../../src/stores/node/disk.js'
import { backgroundWork, cachedConfig, fakeOrigin, settle } from '../support/cache-origin.js'

const bytes = (size: number, seed = 7) => new Uint8Array(size).map((_, i) => (i * seed) % 256)
const entry = (size: number): CacheEntry => ({ headers: { etag: '"e"' }, body: bytes(size), storedAt: Date.now(), expiresAt: Date.now() + 60_000 })

/** A store whose every call fails, like Redis while it is down. */
function downStore(): CacheStore & { calls: string[] } {
  const calls: string[] = []
  const fail = (operation: string) => async () => {
    calls.push(operation)
    throw new Error('Redis is not connected')
  }
  return { calls, get: fail('get'), set: fail('set'), delete: fail('delete'), deletePrefix: fail('deletePrefix') }
}

/** A store that records deletes (to see which layers a remote purge touches). */
function recording(store: CacheStore): CacheStore & { deletes: string[] } {
  const deletes: string[] = []
  return {
    deletes,
    get: (key) => store.get(key),
    set: (key, value) => store.set(key, value),
    delete: (key) => (deletes.push(key), store.delete(key)),
    deletePrefix: (prefix) => (deletes.push(`${prefix}*`), store.deletePrefix!(prefix)),
  }
}

/** An in-process broadcast, as Redis pub/sub is between processes. */
function localBus() {
  const members = new Set<(message: PurgeMessage) => void>()
  return {
    member(): PurgeBus {
      let own: ((message: PurgeMessage) => void) | undefined
      return {
        async publish(message) {
          for (const listener of members) if (listener !== own) listener(message)
        },
        subscribe(listener) {
          own = listener
          members.add(listener)
          return () => members.delete(listener)
        },
      }
    },
  }
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'yatagarasu-layers-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('layeredStore', () => {
  it('checks layers in order and copies a later hit into the earlier layers', async () => {
    const memory = memoryStore()
    const disk = diskStore({ directory: dir, logger: silentLogger })
    const store = layeredStore([
      { name: 'memory', store: memory },
      { name: 'disk', store: disk },
    ])
    await disk.set('cdn/a', entry(1000))
    const found = await store.get('cdn/a')
    expect(found?.layer).toBe('disk')
    await settle()
    expect((await memory.get('cdn/a'))?.body).toEqual(bytes(1000))
    expect((await store.get('cdn/a'))?.layer).toBe('memory')
    expect(store.stats()).toEqual([
      { layer: 'memory', entries: 1, bytes: memory.size, hits: 1, misses: 1, errors: 0 },
      { layer: 'disk', entries: 1, bytes: 1000, hits: 1, misses: 0, errors: 0 },
    ])
  })

  it('keeps each entry only in the layers whose maxItemSize it fits', async () => {
    const memory = memoryStore()
    const other = memoryStore()
    const store = layeredStore([
      { name: 'memory', store: memory, maxItemSize: 500 },
      { name: 'other', store: other },
    ])
    await store.set('cdn/big', entry(1000))
    await store.set('cdn/small', entry(100))
    expect([memory.entries, other.entries]).toEqual([1, 2])
    // A big hit from the later layer is not copied forward either.
    expect((await store.get('cdn/big'))?.layer).toBe('other')
    await settle()
    expect(memory.entries).toBe(1)
  })

  it('skips a failing layer: lookups go on to the next, writes to the others; failures are reported and counted', async () => {
    const errors: Array<[string, string]> = []
    const down = downStore()
    const disk = diskStore({ directory: dir, logger: silentLogger })
    const store = layeredStore(
      [
        { name: 'redis', store: down },
        { name: 'disk', store: disk },
      ],
      { onError: (layer, operation) => void errors.push([layer, operation]) },
    )
    await store.set('cdn/a', entry(100))
    expect((await store.get('cdn/a'))?.layer).toBe('disk')
    expect(await store.delete('cdn/a')).toBe(true)
    expect(await store.deletePrefix('cdn/')).toBe(0)
    // The disk hit is also copied back into the failing layer: a second failed set.
    expect(errors.map(([, operation]) => operation).sort()).toEqual(['delete', 'deletePrefix', 'get', 'set', 'set'])
    expect(errors.every(([layer]) => layer === 'redis')).toBe(true)
    expect(store.stats()[0]).toMatchObject({ layer: 'redis', errors: 5, entries: null, bytes: null })
  })

  it('streams a write into the disk layer and gives memory a copy only when it fits there', async () => {
    const memory = memoryStore()
    const disk = diskStore({ directory: dir, logger: silentLogger })
    const store = layeredStore([
      { name: 'memory', store: memory, maxItemSize: 10_000 },
      { name: 'disk', store: disk },
    ])
    const write = async (key: string, size: number) => {
      const body = bytes(size)
      let offset = 0
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= size) return controller.close()
          controller.enqueue(body.slice(offset, offset + 4096))
          offset += 4096
        },
      })
      await store.setStream!(key, { headers: {}, size, storedAt: Date.now(), expiresAt: Date.now() + 60_000 }, stream)
    }
    await write('cdn/small', 8192)
    await write('cdn/large', 100_000)
    expect(memory.usage('cdn/')).toMatchObject({ entries: 1 })
    expect((await memory.get('cdn/small'))?.body).toEqual(bytes(8192))
    expect(disk.usage('cdn/')).toEqual({ entries: 2, bytes: 108_192 })
    // A large disk hit stays a stream; memory doesn't get it.
    const large = await store.getStream!('cdn/large')
    expect(large && 'size' in large ? large.size : undefined).toBe(100_000)
    await new Response(large!.body as ReadableStream).arrayBuffer()
    expect(memory.entries).toBe(1)
  })

  it('a body that fails stores nothing in any layer', async () => {
    const memory = memoryStore()
    const disk = diskStore({ directory: dir, logger: silentLogger })
    const store = layeredStore([
      { name: 'memory', store: memory },
      { name: 'disk', store: disk },
    ])
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes(100))
        controller.error(new Error('connection reset'))
      },
    })
    await expect(store.setStream!('cdn/f', { headers: {}, size: 1000, storedAt: Date.now(), expiresAt: Date.now() + 60_000 }, failing)).rejects.toThrow()
    expect([memory.entries, disk.entries]).toEqual([0, 0])
  })

  it('announces purges on the bus; other instances clear their own layers, not the shared one', async () => {
    const bus = localBus()
    const shared = recording(memoryStore())
    const memoryA = memoryStore()
    const memoryB = recording(memoryStore())
    const a = layeredStore([{ name: 'memory', store: memoryA }, { name: 'redis', store: shared, shared: true }], { bus: bus.member() })
    const b = layeredStore([{ name: 'memory', store: memoryB }, { name: 'redis', store: shared, shared: true }], { bus: bus.member() })
    await a.set('cdn/x', entry(10))
    await b.get('cdn/x') // copied into B's memory
    await settle()
    expect(await memoryB.get('cdn/x')).toBeDefined()

    expect(await a.delete('cdn/x')).toBe(true)
    await settle()
    expect(await memoryB.get('cdn/x')).toBeUndefined()
    expect(memoryB.deletes).toEqual(['cdn/x'])
    expect(shared.deletes).toEqual(['cdn/x']) // once, by A

    await b.set('cdn/img/1', entry(10))
    await b.set('cdn/img/2', entry(10))
    await a.get('cdn/img/1')
    await settle()
    expect(await b.deletePrefix('cdn/img/')).toBe(2)
    await settle()
    expect(memoryA.entries).toBe(0)
    a.close()
    b.close()
  })
})

describe('through the handler', () => {
  it('names the layer that answered in X-Cache-Layer', async () => {
    const origin = fakeOrigin()
    origin.put('a.txt', 'hello')
    const memory = memoryStore()
    const disk = diskStore({ directory: dir, logger: silentLogger })
    const cache = createCache({ store: layeredStore([{ name: 'memory', store: memory }, { name: 'disk', store: disk }]) })
    const handler = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache, logger: silentLogger })
    const work = backgroundWork()
    const get = async () => {
      const response = await handler(new Request('http://proxy.test/cdn/a.txt'), work.context)
      await response.arrayBuffer()
      await work.flush()
      return [response.headers.get('x-cache'), response.headers.get('x-cache-layer')]
    }
    expect(await get()).toEqual(['MISS', null])
    expect(await get()).toEqual(['HIT', 'memory'])
    memory.clear()
    expect(await get()).toEqual(['HIT', 'disk'])
    await settle()
    expect(await get()).toEqual(['HIT', 'memory'])
  })
})

describe('cache.stats() and purging everything', () => {
  it('counts hits, misses and bypasses per bucket, and entries per layer; purge({}) empties every bucket', async () => {
    const origin = fakeOrigin()
    origin.put('a.txt', 'aaaa')
    origin.put('b.txt', 'bbbbbbbb')
    const cache = createCache()
    const handler = createYatagarasu(cachedConfig(), { fetch: origin.fetch, cache, logger: silentLogger })
    const work = backgroundWork()
    for (const [path, init] of [['/cdn/a.txt'], ['/cdn/a.txt'], ['/cdn/b.txt'], ['/cdn/a.txt', { headers: { 'cache-control': 'no-cache' } }]] as const) {
      await (await handler(new Request(`http://proxy.test${path}`, init), work.context)).arrayBuffer()
      await work.flush()
    }
    const stats = cache.stats()
    expect(stats.buckets).toEqual([{ bucket: 'cdn', hits: 1, misses: 2, bypasses: 1, layers: [{ layer: 'memory', entries: 2, bytes: expect.any(Number) }] }])
    expect(stats.layers).toEqual([{ layer: 'memory', entries: 2, bytes: stats.buckets[0]!.layers[0]!.bytes, hits: 1, misses: 2, errors: 0 }])
    expect(await cache.purge({})).toBe(2)
    expect(cache.stats().layers[0]!.entries).toBe(0)
    await expect(cache.purge({ key: 'a.txt' } as never)).rejects.toThrow(/bucket/)
  })
})
