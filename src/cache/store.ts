/**
 * What the cache keeps per object, and the interface a store implements. A store is a
 * plain async key-value map of {@link CacheEntry}s; the cache layer decides what is
 * stored, builds the keys and enforces TTL and item size itself, so a store only has
 * to keep what it is given (and may drop it at any time).
 */

/** One cached object: a complete `200` GET body with the object headers to answer later. */
export interface CacheEntry {
  /**
   * The object headers S3 sent, names in lower case: `content-type`, `etag`,
   * `last-modified`, `cache-control`, `content-disposition`, `content-encoding`,
   * `content-language`, `expires`, `x-amz-meta-*`. (`content-length` is the body's
   * length and is not kept.)
   */
  readonly headers: Readonly<Record<string, string>>
  /** The complete body, exactly as S3 sent it (still compressed if it was). */
  readonly body: Uint8Array
  /** When the entry was stored, in milliseconds since the epoch. */
  readonly storedAt: number
  /** When the entry stops being served, in milliseconds since the epoch: the store may drop it from then on. */
  readonly expiresAt: number
  /**
   * When the entry stops being fresh, in milliseconds since the epoch, when that is
   * before `expiresAt` (a bucket with `staleWhileRevalidate` or `staleIfError`): between
   * the two it is served only as `X-Cache: STALE`. Absent: fresh until `expiresAt`.
   * A store keeps it as it keeps `storedAt`.
   */
  readonly freshUntil?: number
  /** The cache layer that answered, when the store has layers (`layeredStore`); sent as `X-Cache-Layer`. */
  readonly layer?: string
}

/** What a streaming write is told about an entry before its body arrives. */
export interface CacheEntryMeta {
  /** As {@link CacheEntry.headers}. */
  readonly headers: Readonly<Record<string, string>>
  /** The body's length in bytes. */
  readonly size: number
  /** When the response began, in milliseconds since the epoch. */
  readonly storedAt: number
  /** When the entry stops being served, in milliseconds since the epoch. */
  readonly expiresAt: number
  /** As {@link CacheEntry.freshUntil}. */
  readonly freshUntil?: number
  /** As {@link CacheEntry.layer}. */
  readonly layer?: string
}

/** An entry whose body is read from the store while it is sent (a disk store). */
export interface StreamedCacheEntry extends CacheEntryMeta {
  /** Exactly `size` bytes. Whoever gets the entry reads it to the end or cancels it. */
  readonly body: ReadableStream<Uint8Array>
}

/**
 * Where cache entries live. Implement it to plug in any storage (see docs/caching.md).
 *
 * - Keys are opaque strings built by the cache layer (`<bucket>/<s3 key>`, the bucket
 *   name percent-encoded). A store shared by several buckets needs no namespacing of
 *   its own; add a prefix only to share a backend with other applications.
 * - `set` should make the entry disappear by `entry.expiresAt` (or earlier); the layer
 *   also checks `expiresAt` on every read, so a store that keeps entries longer never
 *   serves them stale.
 * - Any method may reject: the request is then answered from S3 with `X-Cache: BYPASS`
 *   and the failure is logged. A store backed by a network service should bound its
 *   own latency (the Redis store times out after 100 ms by default), since a slow
 *   store slows every request.
 *
 * @example
 * const store: CacheStore = {
 *   async get(key) { return map.get(key) },
 *   async set(key, entry) { map.set(key, entry) },
 *   async delete(key) { return map.delete(key) },
 *   async deletePrefix(prefix) { let n = 0; for (const k of map.keys()) if (k.startsWith(prefix) && map.delete(k)) n++; return n },
 * }
 */
export interface CacheStore {
  /** The entry under `key`, or `undefined`. */
  get(key: string): Promise<CacheEntry | undefined>
  /**
   * Optional synchronous `get`, for stores in memory: the cache then answers a fresh
   * hit without waiting for a promise (on Node, the promises and microtask turns of an
   * awaited `get` were a tenth of a hit's handler time). It must answer as `get` would.
   */
  peek?(key: string): CacheEntry | undefined
  /** Stores (or replaces) the entry under `key`. */
  set(key: string, entry: CacheEntry): Promise<void>
  /** Removes the entry under `key`; resolves `true` when there was one. */
  delete(key: string): Promise<boolean>
  /**
   * Removes every entry whose key starts with `prefix`; resolves how many were removed.
   * Optional: without it, purging a prefix or a whole bucket rejects.
   */
  deletePrefix?(prefix: string): Promise<number>
  /**
   * Optional streaming read, for stores that keep bodies outside memory (disk): like
   * `get`, but the body may come as a stream, read as it is sent. When present, the
   * cache uses it instead of `get`.
   */
  getStream?(key: string): Promise<CacheEntry | StreamedCacheEntry | undefined>
  /**
   * Optional streaming write, so that a body is never in memory whole: when present,
   * the cache hands every fill whose length S3 declared to this method (at the pace of
   * the client and the store, whichever is slower) instead of collecting it for `set`.
   * Resolves once the entry is complete and readable; rejects, with nothing stored,
   * when `body` errors or ends before or after `meta.size` bytes. It reads `body` to
   * its end or cancels it.
   */
  setStream?(key: string, meta: CacheEntryMeta, body: ReadableStream<Uint8Array>): Promise<void>
}

/** True when the entry's body is a stream ({@link CacheStore.getStream}). */
export function isStreamedEntry(entry: CacheEntry | StreamedCacheEntry): entry is StreamedCacheEntry {
  // Not `instanceof`: a Uint8Array or stream from another realm (a VM context) must work too.
  return typeof (entry.body as Partial<ReadableStream>).getReader === 'function'
}
