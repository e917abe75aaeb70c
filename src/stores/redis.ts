/**
 * The Redis cache store (`yatagarasu/redis`): several proxy instances share one cache.
 * Node-only (the `redis` client uses `node:net`), so it lives outside the core entry;
 * `redis` is an optional peer dependency: `npm install redis`.
 */
import { RESP_TYPES } from 'redis'
import { describeError } from '../logging/describe-error.js'
import { throttledWarn } from '../logging/throttled-warn.js'
import { decodeEntry, encodeEntry } from '../cache/entry-codec.js'
import type { CacheStore } from '../cache/store.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { createOwnedClient, type AnyRedisClient } from './redis-client.js'


export interface RedisStoreOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]` (or `rediss://` for TLS). The store
   * creates and owns the connection: commands fail at once instead of queueing while it
   * is down, and it reconnects in the background with backoff. Give this or `client`.
   */
  url?: string
  /** With `url`: the password (instead of one in the URL). */
  password?: string
  /** With `url`: the database number (instead of `/db` in the URL). */
  database?: number
  /**
   * A node-redis v5 client (`createClient(...)`) you create, connect and close
   * yourself, when you need other connection options. The store only adds an `error`
   * listener (so a lost connection is logged rather than crashing the process).
   */
  client?: AnyRedisClient
  /** Prepended to every key, to share a Redis with other applications. Default `'yatagarasu:'`. */
  keyPrefix?: string
  /**
   * Milliseconds a `get`, `set` or `delete` may take before it counts as failed (the
   * request is then served from S3 with `X-Cache: BYPASS`). Default 100.
   */
  timeout?: number
  /** Where connection problems are reported (never the URL or password). Default: {@link consoleLogger}. */
  logger?: Logger
  /** The clock for TTLs, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/** A {@link CacheStore} on Redis. */
export interface RedisStore extends CacheStore {
  /** True while the connection is up (and commands are sent); false while it is down or reconnecting. */
  readonly isReady: boolean
  /** Closes the connection the store opened from `url`; a `client` you gave is left open. */
  close(): Promise<void>
}

const DEFAULT_PREFIX = 'yatagarasu:'
const DEFAULT_TIMEOUT_MS = 100
const SCAN_BATCH = 500

/**
 * A {@link CacheStore} on Redis with the `redis` (node-redis v5) client. Each entry is
 * one string value (metadata and body, see `encodeEntry`) written with `SET ... PX`,
 * so Redis expires it with the cache's TTL. Purging a prefix walks the keys with
 * `SCAN MATCH` (never `KEYS`, which blocks Redis) and removes them with `UNLINK`.
 *
 * Redis being down or slow never fails a request: while the client is not connected
 * every call rejects at once, and a connected call that takes longer than `timeout`
 * rejects then; the cache layer answers from S3 with `X-Cache: BYPASS` and logs it.
 *
 * The bucket's `maxSize` is not enforced here: size Redis itself (`maxmemory` with
 * `maxmemory-policy allkeys-lru`), or put a memory store in front ({@link tieredStore}).
 *
 * @example
 * import { createCache, createYatagarasu } from 'yatagarasu'
 * import { redisStore } from 'yatagarasu/redis'
 *
 * const cache = createCache({ store: redisStore({ url: process.env.REDIS_URL }) })
 * const handler = createYatagarasu(config, { cache })
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  if ((options.url === undefined) === (options.client === undefined)) {
    throw new TypeError('redisStore: give either url or client')
  }
  const prefix = options.keyPrefix ?? DEFAULT_PREFIX
  const timeoutMs = options.timeout ?? DEFAULT_TIMEOUT_MS
  const logger = options.logger ?? consoleLogger
  const now = options.now ?? Date.now
  const owned = options.client === undefined
  const client: AnyRedisClient =
    options.client ??
    createOwnedClient({ url: options.url!, ...(options.password !== undefined && { password: options.password }), ...(options.database !== undefined && { database: options.database }) })
  // Values come back as Buffers (binary-safe) through this view of the same connection.
  const binary = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })

  const warn = throttledWarn(logger)
  let down = false
  client.on('error', (error: unknown) => {
    down = true
    warn('redis cache store: connection problem; requests are served from S3', { error: describeError(error) })
  })
  client.on('ready', () => {
    if (!down) return
    down = false
    logger.info('redis cache store: connected again')
  })
  if (owned) client.connect().catch(() => {}) // failures arrive as 'error' events; it keeps retrying

  async function run<T>(operation: string, command: () => Promise<T>): Promise<T> {
    if (!client.isReady) throw new Error(`Redis is not connected (${operation})`)
    const pending = command()
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis ${operation} took longer than ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      return await Promise.race([pending, timeout])
    } finally {
      clearTimeout(timer)
      pending.catch(() => {}) // a late failure after the timeout is not unhandled
    }
  }

  return {
    async get(key) {
      const value = (await run('get', () => binary.get(prefix + key))) as Buffer | null
      if (value === null) return undefined
      const entry = decodeEntry(value)
      return entry !== undefined && entry.expiresAt > now() ? entry : undefined
    },
    async set(key, entry) {
      const ttl = Math.max(1, Math.ceil(entry.expiresAt - now()))
      const bytes = encodeEntry(entry)
      const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      await run('set', () => client.set(prefix + key, value, { expiration: { type: 'PX', value: ttl } }))
    },
    async delete(key) {
      return Number(await run('delete', () => client.unlink(prefix + key))) > 0
    },
    async deletePrefix(keyPrefix) {
      if (!client.isReady) throw new Error('Redis is not connected (deletePrefix)')
      let removed = 0
      // No overall timeout: a purge walks the whole keyspace in batches and may take a while.
      for await (const keys of client.scanIterator({ MATCH: `${escapeGlob(prefix + keyPrefix)}*`, COUNT: SCAN_BATCH })) {
        const batch = keys as string[]
        if (batch.length > 0) removed += Number(await client.unlink(batch))
      }
      return removed
    },
    get isReady() {
      return client.isReady
    },
    async close() {
      if (owned && client.isOpen) client.destroy()
    },
  }
}

/** Escapes Redis glob characters so a key prefix matches literally (`SCAN MATCH`). */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

// reliability: the rate-limit store shares this Node-only entry (`yatagarasu/redis`).
export { redisRateLimitStore, type RedisRateLimitStoreOptions, type RedisScriptClient } from './redis-rate-limit.js'
export { redisPurgeBus, type RedisPurgeBus, type RedisPurgeBusOptions } from './redis-purge-bus.js'
