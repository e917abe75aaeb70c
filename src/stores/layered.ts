/**
 * Cache layers as one store: memory, then disk, then Redis (any stores, in order) —
 * the original Yatagarasu's `cache_layers`. Runtime-neutral.
 */
import type { CacheLayerStats } from '../cache/create-cache.js'
import { joinChunks } from '../cache/fill.js'
import { pushStream, type PushStream } from '../cache/push-stream.js'
import type { PurgeBus, PurgeMessage } from '../cache/purge-bus.js'
import { isStreamedEntry, type CacheEntry, type CacheEntryMeta, type CacheStore, type StreamedCacheEntry } from '../cache/store.js'

export interface CacheLayer {
  /** Its name in stats, logs, metrics and `X-Cache-Layer`: `memory`, `disk`, `redis`, ... */
  readonly name: string
  readonly store: CacheStore
  /** The largest body this layer keeps, in bytes. Default: any the cache stores. */
  readonly maxItemSize?: number
  /** True for a layer every instance shares (Redis): a purge announced by another instance has already cleared it. */
  readonly shared?: boolean
}

/** One layer's figures: the same as a layer's in `cache.stats()`. */
export type LayerStats = CacheLayerStats

export interface LayeredStoreOptions {
  /**
   * Told every failure of a layer (Redis down, disk full); the layer is skipped for
   * that operation and the request goes on. Default: none — log them here.
   */
  onError?: (layer: string, operation: string, error: unknown) => void
  /**
   * Announces purges to the other instances and applies theirs (`redisPurgeBus` from
   * `yatagarasu/redis`): a purge then empties every instance's own layers (memory, disk),
   * not only this one's and the shared ones.
   */
  bus?: PurgeBus
}

/** A {@link CacheStore} over several layers, with per-layer figures. */
export interface LayeredStore extends CacheStore {
  readonly layers: readonly CacheLayer[]
  deletePrefix(prefix: string): Promise<number>
  /** Each layer's figures, in order. */
  stats(): LayerStats[]
  /** Entries and bytes under a key prefix, per layer (`null` where the store can't count). */
  usage(prefix: string): Array<{ layer: string; entries: number | null; bytes: number | null }>
  /** Stops listening to the purge bus. */
  close(): void
}

/** What a store may offer for counting (memoryStore and diskStore do). */
interface Countable {
  readonly size?: unknown
  readonly entries?: unknown
  usage?: (prefix: string) => { entries: number; bytes: number }
}

/**
 * Layers checked in order, filled on the way back:
 *
 * - a lookup asks each layer in turn; a hit in a later layer is copied into the earlier
 *   ones that take its size (in the background), so the next lookup is answered nearer;
 * - a write goes to every layer that takes its size; a streamed write
 *   ({@link CacheStore.setStream}) is streamed into the layers that can (disk) and
 *   collected for the others only when one of them takes that size;
 * - deletes and purges go to every layer, then to the other instances through `bus`;
 * - a layer that fails is skipped — reported to `onError`, counted — and never fails
 *   the request: a lookup goes on to the next layer, a write to the others.
 *
 * @example
 * const cache = createCache({
 *   store: layeredStore([
 *     { name: 'memory', store: memoryStore({ maxSize: 256 * 2 ** 20 }), maxItemSize: 10 * 2 ** 20 },
 *     { name: 'disk', store: diskStore({ directory: '/var/cache/yatagarasu' }) },
 *     { name: 'redis', store: redisStore({ url: process.env.REDIS_URL }), maxItemSize: 10 * 2 ** 20, shared: true },
 *   ], { bus: redisPurgeBus({ url: process.env.REDIS_URL }) }),
 * })
 */
export function layeredStore(layers: readonly CacheLayer[], options: LayeredStoreOptions = {}): LayeredStore {
  if (layers.length === 0) throw new TypeError('layeredStore: give at least one layer')
  const counters = layers.map(() => ({ hits: 0, misses: 0, errors: 0 }))
  const fits = (index: number, size: number) => size <= (layers[index]!.maxItemSize ?? Infinity)

  function failed(index: number, operation: string, error: unknown): void {
    counters[index]!.errors++
    options.onError?.(layers[index]!.name, operation, error)
  }

  /** Copies a hit from layer `found` into the layers before it that take it, in the background. */
  function fillBack(key: string, entry: CacheEntry, found: number): void {
    for (let index = 0; index < found; index++) {
      if (!fits(index, entry.body.byteLength)) continue
      layers[index]!.store.set(key, entry).catch((error: unknown) => failed(index, 'set', error))
    }
  }

  async function lookup(key: string, streaming: boolean): Promise<CacheEntry | StreamedCacheEntry | undefined> {
    for (let index = 0; index < layers.length; index++) {
      const { store, name } = layers[index]!
      let found: CacheEntry | StreamedCacheEntry | undefined
      try {
        found = await (streaming && store.getStream !== undefined ? store.getStream(key) : store.get(key))
      } catch (error) {
        failed(index, 'get', error)
        continue
      }
      if (found === undefined) {
        counters[index]!.misses++
        continue
      }
      counters[index]!.hits++
      if (isStreamedEntry(found)) {
        // Read whole only when an earlier layer will keep it; otherwise it stays a stream.
        const { size } = found
        const earlier = Array.from({ length: index }, (_, i) => i).some((i) => fits(i, size))
        if (!earlier) return { ...found, layer: name }
        let body: Uint8Array
        try {
          body = new Uint8Array(await new Response(found.body).arrayBuffer())
        } catch (error) {
          failed(index, 'get', error)
          continue
        }
        found = { headers: found.headers, body, storedAt: found.storedAt, expiresAt: found.expiresAt, ...(found.freshUntil !== undefined && { freshUntil: found.freshUntil }) }
      }
      fillBack(key, found, index)
      return { ...found, layer: name }
    }
    return undefined
  }

  async function eachLayer<T>(operation: string, run: (store: CacheStore, index: number) => Promise<T> | undefined, which = (_: CacheLayer) => true): Promise<Array<T | undefined>> {
    return Promise.all(
      layers.map(async (layer, index) => {
        if (!which(layer)) return undefined
        try {
          return await run(layer.store, index)
        } catch (error) {
          failed(index, operation, error)
          return undefined
        }
      }),
    )
  }

  async function removeKey(key: string, which?: (layer: CacheLayer) => boolean): Promise<boolean> {
    const removed = await eachLayer('delete', (store) => store.delete(key), which)
    return removed.some(Boolean)
  }

  async function removePrefix(prefix: string, which?: (layer: CacheLayer) => boolean): Promise<number> {
    const counts = await eachLayer(
      'deletePrefix',
      (store) => {
        if (store.deletePrefix === undefined) throw new Error('this store cannot remove entries by prefix')
        return store.deletePrefix(prefix)
      },
      which,
    )
    // The layers hold overlapping copies: the largest count is the number of objects.
    return Math.max(0, ...counts.map((count) => count ?? 0))
  }

  const notShared = (layer: CacheLayer) => layer.shared !== true
  const unsubscribe = options.bus?.subscribe((message: PurgeMessage) => {
    if (message.key !== undefined) void removeKey(message.key, notShared)
    else if (message.prefix !== undefined) void removePrefix(message.prefix, notShared)
  })

  function announce(message: PurgeMessage): Promise<void> {
    return options.bus?.publish(message).catch((error: unknown) => options.onError?.('bus', 'publish', error)) ?? Promise.resolve()
  }

  const store: LayeredStore = {
    layers,
    get: (key) => lookup(key, false) as Promise<CacheEntry | undefined>,
    getStream: (key) => lookup(key, true),
    async set(key, entry) {
      await eachLayer('set', (layer, index) => (fits(index, entry.body.byteLength) ? layer.set(key, entry) : undefined))
    },
    async delete(key) {
      const removed = await removeKey(key)
      await announce({ key })
      return removed
    },
    async deletePrefix(prefix) {
      const removed = await removePrefix(prefix)
      await announce({ prefix })
      return removed
    },
    stats() {
      return layers.map((layer, index) => {
        const countable = layer.store as Countable
        return {
          layer: layer.name,
          entries: typeof countable.entries === 'number' ? countable.entries : null,
          bytes: typeof countable.size === 'number' ? countable.size : null,
          ...counters[index]!,
        }
      })
    },
    usage(prefix) {
      return layers.map((layer) => {
        const found = typeof (layer.store as Countable).usage === 'function' ? (layer.store as Countable).usage!(prefix) : undefined
        return { layer: layer.name, entries: found?.entries ?? null, bytes: found?.bytes ?? null }
      })
    },
    close() {
      unsubscribe?.()
    },
  }
  if (layers.some((layer) => layer.store.setStream !== undefined)) {
    store.setStream = (key, meta, body) => writeStreamed(key, meta, body)
  }

  /**
   * One body into several layers: streamed into those that write from a stream, at the
   * pace of the slowest, and collected for the others only if one of them takes it.
   * Resolves once every layer is done (failed layers reported, not thrown); rejects
   * only when the body itself fails (then nothing is stored anywhere).
   */
  async function writeStreamed(key: string, meta: CacheEntryMeta, body: ReadableStream<Uint8Array>): Promise<void> {
    const streamed: Array<{ index: number; sink: PushStream; done: Promise<void> }> = []
    const collected: number[] = []
    let bodyFailed = false
    layers.forEach((layer, index) => {
      if (!fits(index, meta.size)) return
      if (layer.store.setStream === undefined) return void collected.push(index)
      const sink = pushStream()
      const done = layer.store.setStream(key, meta, sink.stream).catch((error: unknown) => {
        if (!bodyFailed) failed(index, 'set', error)
      })
      streamed.push({ index, sink, done })
    })
    const chunks: Uint8Array[] | undefined = collected.length > 0 ? [] : undefined
    const reader = body.getReader()
    let received = 0
    try {
      for (;;) {
        if (chunks === undefined && streamed.every(({ sink }) => !sink.open)) {
          await reader.cancel() // nobody wants the rest
          break
        }
        const { done, value } = await reader.read()
        if (done) {
          if (received !== meta.size) throw new Error(`the body ended after ${received} of ${meta.size} bytes`)
          break
        }
        received += value.byteLength
        if (received > meta.size) throw new Error(`the body is longer than ${meta.size} bytes`)
        chunks?.push(value)
        await Promise.all(streamed.map(({ sink }) => sink.push(value)))
      }
    } catch (error) {
      void reader.cancel(error).catch(() => {})
      bodyFailed = true
      for (const { sink } of streamed) sink.error(error instanceof Error ? error : new Error('the body failed'))
      await Promise.all(streamed.map(({ done }) => done))
      throw error
    }
    for (const { sink } of streamed) sink.close()
    const writes: Array<Promise<unknown>> = streamed.map(({ done }) => done)
    if (chunks !== undefined) {
      const entry: CacheEntry = {
        headers: meta.headers,
        body: joinChunks(chunks, meta.size),
        storedAt: meta.storedAt,
        expiresAt: meta.expiresAt,
        ...(meta.freshUntil !== undefined && { freshUntil: meta.freshUntil }),
      }
      for (const index of collected) writes.push(layers[index]!.store.set(key, entry).catch((error: unknown) => failed(index, 'set', error)))
    }
    await Promise.all(writes)
  }

  return store
}
