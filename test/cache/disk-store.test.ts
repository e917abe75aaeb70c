/**
 * The disk store (`yatagarasu/disk`, on cacache): entries survive a restart, a write
 * killed halfway is never served, the byte bound evicts least recently used entries,
 * and a large body is written as it streams (the file grows while the body is read).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { diskStore, type DiskStore } from '../../src/stores/node/disk.js'
import type { CacheEntry, StreamedCacheEntry } from '../../src/index.js'
import { createCache, createYatagarasu, silentLogger } from '../../src/index.js'
import { backgroundWork, cachedConfig, fakeOrigin, testClock } from '../support/cache-origin.js'

const root = resolve(import.meta.dirname, '../..')
const bytes = (size: number, seed = 7) => new Uint8Array(size).map((_, i) => (i * seed + (i >> 8)) % 256)
let dir: string
let clock: ReturnType<typeof testClock>
const opened: DiskStore[] = []

function open(maxSize?: number): DiskStore {
  const store = diskStore({ directory: dir, now: clock.now, logger: silentLogger, ...(maxSize !== undefined && { maxSize }) })
  opened.push(store)
  return store
}

function entry(body: Uint8Array, ttlMs = 60_000, headers: Record<string, string> = { 'content-type': 'application/x-test' }): CacheEntry {
  return { headers, body, storedAt: clock.now(), expiresAt: clock.now() + ttlMs }
}

function streamOf(body: Uint8Array, chunkSize: number, onPull?: (sent: number) => void | Promise<void>): ReadableStream<Uint8Array> {
  let offset = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        await onPull?.(offset)
        if (offset >= body.byteLength) return controller.close()
        controller.enqueue(body.slice(offset, offset + chunkSize))
        offset += chunkSize
      },
    },
    { highWaterMark: 0 },
  )
}

async function readStreamed(found: CacheEntry | StreamedCacheEntry | undefined): Promise<Uint8Array | undefined> {
  if (found === undefined) return undefined
  if (found.body instanceof Uint8Array) return found.body
  return new Uint8Array(await new Response(found.body).arrayBuffer())
}

function filesUnder(path: string): string[] {
  try {
    return readdirSync(path, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
  } catch {
    return []
  }
}

const contentBytes = () => filesUnder(join(dir, 'content-v2')).reduce((total, file) => total + statSync(file).size, 0)

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'yatagarasu-disk-'))
  clock = testClock()
})

afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.ready))
  rmSync(dir, { recursive: true, force: true })
})

describe('diskStore', () => {
  it('stores and returns entries, buffered and streamed, with their headers and times', async () => {
    const store = open()
    const body = bytes(100_000)
    await store.set('cdn/a.bin', entry(body))
    const got = await store.get('cdn/a.bin')
    expect(got).toMatchObject({ headers: { 'content-type': 'application/x-test' }, storedAt: clock.now(), expiresAt: clock.now() + 60_000 })
    expect(got!.body).toEqual(body)
    const streamed = (await store.getStream('cdn/a.bin')) as StreamedCacheEntry
    expect(streamed.size).toBe(100_000)
    expect(await readStreamed(streamed)).toEqual(body)
    expect(await store.get('cdn/missing')).toBeUndefined()
    expect(await store.getStream('cdn/missing')).toBeUndefined()
    expect([store.entries, store.size]).toEqual([1, 100_000])
  })

  it('writes a body given as a stream, and an empty one', async () => {
    const store = open()
    const body = bytes(50_000)
    await store.setStream('cdn/s.bin', { headers: {}, size: body.byteLength, storedAt: clock.now(), expiresAt: clock.now() + 1000 }, streamOf(body, 4096))
    expect(await readStreamed(await store.getStream('cdn/s.bin'))).toEqual(body)
    await store.setStream('cdn/empty', { headers: {}, size: 0, storedAt: clock.now(), expiresAt: clock.now() + 1000 }, streamOf(new Uint8Array(0), 1))
    expect(await readStreamed(await store.getStream('cdn/empty'))).toEqual(new Uint8Array(0))
  })

  it('survives a restart: a new store on the same directory serves what the old one wrote', async () => {
    const first = open()
    await first.set('cdn/a.bin', entry(bytes(10_000), 60_000, { etag: '"a"' }))
    await first.setStream('cdn/b.bin', { headers: { etag: '"b"' }, size: 20_000, storedAt: clock.now(), expiresAt: clock.now() + 60_000 }, streamOf(bytes(20_000, 3), 1000))

    const second = open()
    await second.ready
    expect([second.entries, second.size]).toEqual([2, 30_000])
    expect((await second.get('cdn/a.bin'))!.body).toEqual(bytes(10_000))
    expect((await second.get('cdn/a.bin'))!.headers).toEqual({ etag: '"a"' })
    expect(await readStreamed(await second.getStream('cdn/b.bin'))).toEqual(bytes(20_000, 3))
  })

  it('keeps an entry\'s freshUntil (stale_while_revalidate) across a restart, streamed or not', async () => {
    const first = open()
    const freshUntil = clock.now() + 10_000
    await first.set('cdn/a.bin', { ...entry(bytes(100), 60_000), freshUntil })
    await first.setStream('cdn/b.bin', { headers: {}, size: 100, storedAt: clock.now(), expiresAt: clock.now() + 60_000, freshUntil }, streamOf(bytes(100), 50))
    await first.set('cdn/c.bin', entry(bytes(100), 60_000))
    expect((await first.get('cdn/a.bin'))!.freshUntil).toBe(freshUntil)
    const second = open()
    await second.ready
    expect((await second.get('cdn/a.bin'))!.freshUntil).toBe(freshUntil)
    const streamed = (await second.getStream('cdn/b.bin')) as StreamedCacheEntry
    expect(streamed.freshUntil).toBe(freshUntil)
    await streamed.body.cancel()
    expect((await second.get('cdn/c.bin'))!.freshUntil).toBeUndefined()
  })

  it('never serves an entry past its TTL, and drops expired ones at start', async () => {
    const store = open()
    await store.set('cdn/short', entry(bytes(1000), 1000))
    await store.set('cdn/long', entry(bytes(1000), 60_000))
    clock.advance(1000)
    expect(await store.get('cdn/short')).toBeUndefined()
    clock.advance(60_000)
    const reopened = open()
    await reopened.ready
    expect(reopened.entries).toBe(0)
    expect(await reopened.get('cdn/long')).toBeUndefined()
    expect(contentBytes()).toBe(0)
  })

  it('stays within maxSize by removing the least recently used entries, files included', async () => {
    const store = open(10_000)
    await store.set('cdn/1', entry(bytes(4000, 1)))
    await store.set('cdn/2', entry(bytes(4000, 2)))
    await store.get('cdn/1') // 1 is now more recent than 2
    await store.set('cdn/3', entry(bytes(4000, 3)))
    expect(await store.get('cdn/2')).toBeUndefined()
    expect((await store.get('cdn/1'))!.body).toEqual(bytes(4000, 1))
    expect((await store.get('cdn/3'))!.body).toEqual(bytes(4000, 3))
    expect([store.entries, store.size, store.evictions]).toEqual([2, 8000, 1])
    await store.delete('cdn/missing') // lets the eviction's file removal finish behind the queue
    await expect.poll(contentBytes).toBe(8000)
    // An entry larger than the whole store is not kept.
    await store.set('cdn/huge', entry(bytes(20_000)))
    expect(await store.get('cdn/huge')).toBeUndefined()
    // After a restart, the bound and the order (by time stored) still hold.
    const reopened = open(8000)
    await reopened.ready
    expect([reopened.entries, reopened.size]).toEqual([2, 8000])
  })

  it('deletes one key and a prefix, and reports usage per prefix', async () => {
    const store = open()
    await store.set('cdn/img/a', entry(bytes(100)))
    await store.set('cdn/img/b', entry(bytes(200)))
    await store.set('cdn/css/c', entry(bytes(300)))
    await store.set('other/x', entry(bytes(400)))
    expect(store.usage('cdn/')).toEqual({ entries: 3, bytes: 600 })
    expect(await store.delete('cdn/css/c')).toBe(true)
    expect(await store.delete('cdn/css/c')).toBe(false)
    expect(await store.deletePrefix('cdn/img/')).toBe(2)
    expect(store.usage()).toEqual({ entries: 1, bytes: 400 })
    const reopened = open()
    await reopened.ready
    expect(reopened.usage()).toEqual({ entries: 1, bytes: 400 })
  })

  it('keeps nothing when the body fails or has the wrong length', async () => {
    const store = open()
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes(1000))
        controller.error(new Error('connection reset'))
      },
    })
    await expect(store.setStream('cdn/f', { headers: {}, size: 5000, storedAt: clock.now(), expiresAt: clock.now() + 1000 }, failing)).rejects.toThrow()
    await expect(store.setStream('cdn/short', { headers: {}, size: 5000, storedAt: clock.now(), expiresAt: clock.now() + 1000 }, streamOf(bytes(1000), 500))).rejects.toThrow()
    await expect(store.setStream('cdn/long', { headers: {}, size: 500, storedAt: clock.now(), expiresAt: clock.now() + 1000 }, streamOf(bytes(1000), 500))).rejects.toThrow()
    // A body that arrived whole but then failed is not kept either.
    const whole = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes(1000))
        controller.error(new Error('purged'))
      },
    })
    await expect(store.setStream('cdn/whole', { headers: {}, size: 1000, storedAt: clock.now(), expiresAt: clock.now() + 1000 }, whole)).rejects.toThrow()
    expect(store.entries).toBe(0)
    const reopened = open()
    await reopened.ready
    expect(reopened.entries).toBe(0)
    expect(contentBytes()).toBe(0)
    expect(filesUnder(join(dir, 'tmp'))).toEqual([])
  })

  it('writes a large body as it streams: the file on disk grows while the body is read', async () => {
    const store = open()
    const chunk = 64 * 1024
    const size = 32 * 1024 * 1024
    const body = bytes(chunk)
    let maxLag = 0
    const tmpBytes = () => filesUnder(join(dir, 'tmp')).reduce((total, file) => total + statSync(file).size, 0)
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const sent = stream.sent
          // How far the reader is ahead of what has reached the file.
          if (sent > 0) maxLag = Math.max(maxLag, sent - tmpBytes())
          if (sent >= size) return controller.close()
          controller.enqueue(body.slice())
          stream.sent += chunk
        },
      },
      { highWaterMark: 0 },
    ) as ReadableStream<Uint8Array> & { sent: number }
    stream.sent = 0
    await store.setStream('cdn/large.bin', { headers: {}, size, storedAt: clock.now(), expiresAt: clock.now() + 60_000 }, stream)
    expect(store.size).toBe(size)
    // Never more than a few chunks between the body and the file: nothing is collected.
    expect(maxLag).toBeLessThanOrEqual(8 * chunk)
  })

  it('a write killed halfway (the process dies) is never served, and its temporary file is cleared at start', async () => {
    await new Promise<void>((resolvePromise, reject) => {
      const script = `
        import { diskStore } from ${JSON.stringify(join(root, 'dist/disk.js'))}
        const store = diskStore({ directory: ${JSON.stringify(dir)} })
        await store.set('cdn/kept', { headers: {}, body: new Uint8Array(100), storedAt: Date.now(), expiresAt: Date.now() + 60000 })
        let sent = 0
        const body = new ReadableStream({
          pull(controller) {
            if (sent === 8) { console.log('halfway'); return new Promise(() => {}) }
            controller.enqueue(new Uint8Array(65536).fill(sent))
            sent++
          },
        })
        await store.setStream('cdn/torn', { headers: {}, size: 16 * 65536, storedAt: Date.now(), expiresAt: Date.now() + 60000 }, body)
      `
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('halfway')) child.kill('SIGKILL')
      })
      child.once('exit', (_code, signal) => (signal === 'SIGKILL' ? resolvePromise() : reject(new Error(`child exited without being killed:\n${output}`))))
    })
    expect(filesUnder(join(dir, 'tmp')).length).toBe(1) // the torn write's file
    const store = open()
    await store.ready
    expect(await store.get('cdn/torn')).toBeUndefined()
    expect(await store.getStream('cdn/torn')).toBeUndefined()
    expect((await store.get('cdn/kept'))!.body).toEqual(new Uint8Array(100))
    expect(filesUnder(join(dir, 'tmp'))).toEqual([])
  })

  it('a content file lost or damaged on disk is a miss, not an error', async () => {
    const store = open()
    await store.set('cdn/a', entry(bytes(5000)))
    for (const file of filesUnder(join(dir, 'content-v2'))) rmSync(file)
    expect(await store.get('cdn/a')).toBeUndefined()
    expect(store.entries).toBe(0)
    await store.set('cdn/b', entry(bytes(5000)))
    for (const file of filesUnder(join(dir, 'content-v2'))) rmSync(file)
    expect(await store.getStream('cdn/b')).toBeUndefined()
  })
})

describe('the disk store behind the cache middleware', () => {
  it('a miss is written to disk as it streams; the next request, also after a restart, is a hit read from disk', async () => {
    const origin = fakeOrigin()
    origin.put('big.bin', { body: bytes(3 * 1024 * 1024), chunkSize: 64 * 1024, headers: { 'content-type': 'video/mp4', etag: '"v1"' } })
    const config = cachedConfig({ maxItemSize: '100MB', maxSize: '1GB' })
    const work = backgroundWork()
    const first = createYatagarasu(config, { fetch: origin.fetch, cache: createCache({ store: open() }), logger: silentLogger })
    const miss = await first(new Request('http://proxy.test/cdn/big.bin'), work.context)
    expect(miss.headers.get('x-cache')).toBe('MISS')
    expect((await miss.arrayBuffer()).byteLength).toBe(3 * 1024 * 1024)
    await work.flush()

    const restarted = createYatagarasu(config, { fetch: origin.fetch, cache: createCache({ store: open() }), logger: silentLogger })
    const hit = await restarted(new Request('http://proxy.test/cdn/big.bin'), work.context)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(hit.headers.get('content-type')).toBe('video/mp4')
    expect(hit.headers.get('content-length')).toBe(String(3 * 1024 * 1024))
    // Buffer.equals: toEqual walks millions of elements one by one.
    expect(Buffer.from(await hit.arrayBuffer()).equals(bytes(3 * 1024 * 1024))).toBe(true)
    expect(origin.requests).toHaveLength(1)
  })
})
