/**
 * The disk cache store (`yatagarasu/disk`): a cache tier on the local file system for
 * Node, Bun and Deno, never in the core or edge bundle. `cacache` is an optional peer
 * dependency: `npm install cacache`.
 *
 * Built on cacache (npm's own content-addressable cache) rather than a file format of
 * our own, because it already has what a cache that must survive crashes needs:
 * content is written to a temporary file, hashed while it streams, and moved into
 * place only when complete; the index line that makes it findable is appended after
 * that, with its own hash, so a torn line is ignored on read; reads verify the
 * content's hash. A write cut short (a crash, a client that left) is therefore never
 * found. What cacache leaves to its user — a byte bound and expiry — is done here: an
 * in-memory index of the entries (key, content hash, size, headers, times), loaded
 * from cacache's index at start, kept in least-recently-used order, evicting from the
 * old end once the bytes exceed `maxSize`.
 */
import { once } from 'node:events'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import cacache from 'cacache'
import { describeError } from '../../logging/describe-error.js'
import type { CacheEntry, CacheEntryMeta, CacheStore, StreamedCacheEntry } from '../../cache/store.js'
import { consoleLogger, type Logger } from '../../logging/logger.js'

export interface DiskStoreOptions {
  /** The cache directory (created when missing). One process per directory. */
  directory: string
  /** Bytes of bodies the store may hold; least recently used entries are removed beyond it. Default 10 GB. */
  maxSize?: number
  /** The clock that decides expiry, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
  /** Where failures to remove files are reported. Default: {@link consoleLogger}. */
  logger?: Logger
}

/** A {@link CacheStore} on disk, with its figures for monitoring. */
export interface DiskStore extends CacheStore {
  getStream(key: string): Promise<StreamedCacheEntry | undefined>
  setStream(key: string, meta: CacheEntryMeta, body: ReadableStream<Uint8Array>): Promise<void>
  deletePrefix(prefix: string): Promise<number>
  /** Resolves once the entries already on disk are known (every call waits for it); rejects when the directory is unusable. */
  readonly ready: Promise<void>
  /** Bytes of bodies held. */
  readonly size: number
  /** Entries held. */
  readonly entries: number
  /** Entries removed so far to stay within `maxSize` (a running total). */
  readonly evictions: number
  /** Entries and bytes under a key prefix (`''`: all). */
  usage(prefix?: string): { entries: number; bytes: number }
  /** Removes every entry. */
  clear(): Promise<void>
}

export const DEFAULT_DISK_MAX_SIZE = 10 * 1024 * 1024 * 1024

interface Slot {
  readonly integrity: string
  readonly size: number
  readonly headers: Readonly<Record<string, string>>
  readonly storedAt: number
  readonly expiresAt: number
  readonly freshUntil?: number
}

/** What is kept in cacache's index beside each entry. */
interface Metadata {
  h: Record<string, string>
  s: number
  e: number
  f?: number
}

/**
 * @example
 * import { createCache } from 'yatagarasu'
 * import { diskStore } from 'yatagarasu/disk'
 *
 * const cache = createCache({ store: diskStore({ directory: '/var/cache/yatagarasu', maxSize: 10 * 2 ** 30 }) })
 */
export function diskStore(options: DiskStoreOptions): DiskStore {
  const directory = options.directory
  const maxSize = options.maxSize ?? DEFAULT_DISK_MAX_SIZE
  if (!(Number.isFinite(maxSize) && maxSize > 0)) throw new TypeError('diskStore: maxSize must be a positive number of bytes')
  const now = options.now ?? Date.now
  const logger = options.logger ?? consoleLogger
  // Map order is recency: the first key is the least recently used.
  const slots = new Map<string, Slot>()
  // Identical bodies share one content file: it goes when its last entry does.
  const references = new Map<string, number>()
  let bytes = 0
  let evictions = 0

  function add(key: string, slot: Slot): void {
    forget(key)
    slots.set(key, slot)
    bytes += slot.size
    references.set(slot.integrity, (references.get(slot.integrity) ?? 0) + 1)
  }

  /** Drops the entry from the index in memory; resolves the content hash when no entry uses it any more. */
  function forget(key: string): { slot: Slot; orphan: boolean } | undefined {
    const slot = slots.get(key)
    if (slot === undefined) return undefined
    slots.delete(key)
    bytes -= slot.size
    const left = (references.get(slot.integrity) ?? 1) - 1
    if (left > 0) references.set(slot.integrity, left)
    else references.delete(slot.integrity)
    return { slot, orphan: left <= 0 }
  }

  /** Removes the entry, on disk too (its index file, and its content unless shared). */
  async function remove(key: string): Promise<boolean> {
    const gone = forget(key)
    if (gone === undefined) return false
    try {
      // removeFully drops the key's index file instead of appending a tombstone line, so
      // the index doesn't grow with every eviction (the option is missing from @types/cacache).
      await (cacache.rm.entry as (cache: string, key: string, options: { removeFully: boolean }) => Promise<unknown>)(directory, key, { removeFully: true })
      if (gone.orphan) await cacache.rm.content(directory, gone.slot.integrity)
    } catch (error) {
      logger.warn('disk cache store: could not remove a file', { error: describeError(error) })
    }
    return true
  }

  function evictUntilFits(): void {
    while (bytes > maxSize) {
      const oldest = slots.keys().next()
      if (oldest.done) return
      evictions++
      void remove(oldest.value)
    }
  }

  function touch(key: string, slot: Slot): void {
    slots.delete(key)
    slots.set(key, slot)
  }

  /** The live entry under `key`, or undefined (an expired one is removed). */
  function live(key: string): Slot | undefined {
    const slot = slots.get(key)
    if (slot === undefined) return undefined
    if (slot.expiresAt <= now()) {
      void remove(key)
      return undefined
    }
    touch(key, slot)
    return slot
  }

  const ready = (async () => {
    await mkdir(directory, { recursive: true })
    // cacache writes into tmp/ and moves complete files out: whatever is left there is
    // from a write that never finished (this directory belongs to one process).
    await rm(join(directory, 'tmp'), { recursive: true, force: true })
    const found = Object.values(await cacache.ls(directory)).sort((a, b) => a.time - b.time)
    const stale: string[] = []
    for (const info of found) {
      const meta = info.metadata as Partial<Metadata> | undefined
      const valid = typeof meta?.e === 'number' && typeof meta.s === 'number' && typeof meta.h === 'object' && meta.h !== null
      if (!valid || meta.e! <= now() || typeof info.size !== 'number') {
        stale.push(info.key)
        // Counted so that its content is released with the last entry using it.
        add(info.key, { integrity: info.integrity, size: 0, headers: {}, storedAt: 0, expiresAt: 0 })
        continue
      }
      add(info.key, {
        integrity: info.integrity,
        size: info.size,
        headers: meta.h!,
        storedAt: meta.s!,
        expiresAt: meta.e!,
        ...(typeof meta.f === 'number' && { freshUntil: meta.f }),
      })
    }
    await Promise.all(stale.map(remove))
    evictUntilFits()
  })()
  // Every call awaits `ready`; an unusable directory must not also be an unhandled rejection.
  ready.catch(() => {})

  function metadataOf(entry: CacheEntryMeta | CacheEntry): Metadata {
    return { h: { ...entry.headers }, s: entry.storedAt, e: entry.expiresAt, ...(entry.freshUntil !== undefined && { f: entry.freshUntil }) }
  }

  /** The entry's times as a slot keeps them. */
  function timesOf(entry: CacheEntryMeta | CacheEntry | Slot): Pick<Slot, 'storedAt' | 'expiresAt' | 'freshUntil'> {
    return { storedAt: entry.storedAt, expiresAt: entry.expiresAt, ...(entry.freshUntil !== undefined && { freshUntil: entry.freshUntil }) }
  }

  function accepts(size: number, expiresAt: number): boolean {
    return size <= maxSize && expiresAt > now()
  }

  /** A missing or damaged content file is a miss, and the entry goes. */
  function isLostContent(error: unknown): boolean {
    const code = (error as { code?: unknown } | undefined)?.code
    return code === 'ENOENT' || code === 'EINTEGRITY' || code === 'EBADSIZE'
  }

  return {
    ready,
    async get(key) {
      await ready
      const slot = live(key)
      if (slot === undefined) return undefined
      let body: Uint8Array
      try {
        // Verified against the content hash before it is returned.
        const data = await cacache.get.byDigest(directory, slot.integrity, { size: slot.size })
        body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      } catch (error) {
        if (!isLostContent(error)) throw error
        await remove(key)
        return undefined
      }
      return { headers: slot.headers, body, ...timesOf(slot) }
    },
    async getStream(key) {
      await ready
      const slot = live(key)
      if (slot === undefined) return undefined
      const source = cacache.get.stream.byDigest(directory, slot.integrity, { size: slot.size })
      let body: ReadableStream<Uint8Array>
      try {
        // The first chunk is read before answering, so a missing file is a miss rather
        // than a response that fails after its headers.
        body = await webStreamOf(source)
      } catch (error) {
        if (!isLostContent(error)) throw error
        await remove(key)
        return undefined
      }
      const entry: StreamedCacheEntry = { headers: slot.headers, size: slot.size, ...timesOf(slot), body }
      return entry
    },
    async set(key, entry: CacheEntry) {
      await ready
      if (!accepts(entry.body.byteLength, entry.expiresAt)) return
      const integrity = await cacache.put(directory, key, entry.body, { metadata: metadataOf(entry), size: entry.body.byteLength })
      add(key, { integrity: integrity.toString(), size: entry.body.byteLength, headers: entry.headers, ...timesOf(entry) })
      evictUntilFits()
    },
    async setStream(key, meta: CacheEntryMeta, body) {
      await ready
      if (!accepts(meta.size, meta.expiresAt)) {
        await body.cancel()
        return
      }
      const integrity = await writeStream(directory, key, meta.size, metadataOf(meta), body)
      add(key, { integrity, size: meta.size, headers: meta.headers, ...timesOf(meta) })
      evictUntilFits()
    },
    async delete(key) {
      await ready
      return remove(key)
    },
    async deletePrefix(prefix) {
      await ready
      const keys = [...slots.keys()].filter((key) => key.startsWith(prefix))
      await Promise.all(keys.map(remove))
      return keys.length
    },
    usage(prefix = '') {
      let entries = 0
      let total = 0
      for (const [key, slot] of slots) {
        if (!key.startsWith(prefix)) continue
        entries++
        total += slot.size
      }
      return { entries, bytes: total }
    },
    async clear() {
      await ready
      await Promise.all([...slots.keys()].map(remove))
    },
    get size() {
      return bytes
    },
    get entries() {
      return slots.size
    },
    get evictions() {
      return evictions
    },
  }
}

/**
 * Streams `body` into cacache under `key`, resolving its content hash once the entry
 * is in the index. When `body` fails, the write is made to end with the wrong number
 * of bytes: cacache's own size check then discards the temporary file and never
 * writes the index line.
 */
async function writeStream(
  directory: string,
  key: string,
  size: number,
  metadata: Metadata,
  body: ReadableStream<Uint8Array>,
): Promise<string> {
  if (size === 0) {
    // cacache refuses an empty stream; an empty body is written whole.
    const reader = body.getReader()
    const { done } = await reader.read()
    if (!done) {
      await reader.cancel()
      throw new Error('the body is longer than 0 bytes')
    }
    return (await cacache.put(directory, key, new Uint8Array(0), { metadata, size: 0 })).toString()
  }
  const sink = cacache.put.stream(directory, key, { metadata, size })
  const stored = new Promise<string>((resolve, reject) => {
    sink.once('integrity', (integrity: unknown) => resolve(String(integrity)))
    // `on`, not `once`: cacache may emit a failure twice, and an `error` nobody listens to throws.
    sink.on('error', reject)
  })
  stored.catch(() => {})
  const reader = body.getReader()
  let written = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      written += value.byteLength
      if (!sink.write(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) {
        await Promise.race([once(sink, 'drain'), stored])
      }
    }
  } catch (error) {
    if (written === size) sink.write(Buffer.alloc(1)) // complete but failed: make the size wrong
    sink.end()
    await stored.catch(() => {})
    throw error
  }
  sink.end()
  return stored
}

/**
 * A cacache read stream as a Web stream, one chunk per pull
 * (constant memory); cancelling it closes the file. Resolves after the first chunk
 * arrived, so that a missing file rejects here.
 */
async function webStreamOf(source: AsyncIterable<Buffer> & { destroy?(): void }): Promise<ReadableStream<Uint8Array>> {
  const chunks = source[Symbol.asyncIterator]()
  let pending: IteratorResult<Buffer> | undefined = await chunks.next()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = pending ?? (await chunks.next())
        pending = undefined
        // minipass may hand the last chunk together with `done`.
        if (next.value !== undefined) controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength))
        if (next.done) controller.close()
      },
      cancel() {
        // The iterator's `return` only pauses: destroying the stream closes the file.
        source.destroy?.()
      },
    },
    { highWaterMark: 0 },
  )
}
