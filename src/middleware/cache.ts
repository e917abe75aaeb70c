import { isNotModified } from '../cache/conditional.js'
import { cacheInternals, createCache, createFlight, type Flight, type YatagarasuCache } from '../cache/create-cache.js'
import { bypassReason, declaredLength, isConditional, isStorableResponse } from '../cache/decisions.js'
import { describeError } from '../cache/describe-error.js'
import { fillFrom, teeToStore } from '../cache/fill.js'
import { variantCacheKey } from '../cache/keys.js'
import { isStreamedEntry, type CacheEntry, type CacheEntryMeta, type CacheStore, type StreamedCacheEntry } from '../cache/store.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { resolveConfig } from '../config/resolve.js'
import type { CacheStatus, Middleware, Next, RequestContext } from '../context.js'
import { errorOf } from '../compose.js'
import { ClientClosedRequestError, isHttpError } from '../errors.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { isObjectHeader } from '../s3/object-headers.js'

export interface CacheOptions {
  /** The cache to use (its stores, purge). Default: a new {@link createCache}() of memory stores. */
  cache?: YatagarasuCache
  /** Where store failures are reported (never with secrets). Default: {@link consoleLogger}. */
  logger?: Logger
}

interface BucketCache {
  readonly name: string
  readonly store: CacheStore
  readonly ttlMs: number
  readonly maxItemSize: number
}

// Headers that describe this response rather than the object: recomputed on a hit.
const NOT_STORED = new Set(['content-length', 'content-range'])
// RFC 9110 §15.4.5: what a 304 carries (plus Last-Modified, which helps caches).
const NOT_MODIFIED_HEADERS = ['etag', 'last-modified', 'cache-control', 'expires'] as const
const LOG_INTERVAL_MS = 10_000

/**
 * The per-bucket cache (seed: "Cache Decision Logic", "Cacheable vs Non-Cacheable"):
 * answers from the store when it can (`X-Cache: HIT`), otherwise lets the request go
 * on to S3 (`MISS`) and keeps a copy of a complete `200` GET body of at most
 * `maxItemSize` as it streams past; a bucket without cache, a `Range`, a precondition
 * or a `no-cache` request, or a failing store is `BYPASS`. Concurrent misses for one
 * key share one S3 request (single-flight). Place it after authentication: whatever it
 * serves, it serves to every request that reaches it. docs/caching.md has the rules.
 *
 * @example
 * const store = createCache()
 * compose(requestId(), routing(config), readOnly(), jwtAuth(config), cache(config, { cache: store }), s3Origin(config))
 */
export function cache(config: YatagarasuConfig | ResolvedConfig, options: CacheOptions = {}): Middleware {
  const resolved = resolveConfig(config)
  const logger = options.logger ?? consoleLogger
  const internals = cacheInternals(options.cache ?? createCache())
  const { now, flights } = internals
  const buckets = new Map<string, BucketCache>()
  for (const bucket of resolved.buckets) {
    if (bucket.cache === undefined) continue
    const { ttl, maxSize, maxItemSize } = bucket.cache
    buckets.set(bucket.name, {
      name: bucket.name,
      store: internals.storeFor({ name: bucket.name, ttl, maxSize, maxItemSize }),
      ttlMs: ttl * 1000,
      maxItemSize,
    })
  }
  const reportFailure = failureReporter(logger)

  /** Straight through to S3, labelled (errors too: they are responses by now). */
  async function pass(ctx: RequestContext, next: Next, status: CacheStatus): Promise<Response> {
    ctx.cacheStatus = status
    return labelled(await next(), status)
  }

  function serve(ctx: RequestContext, entry: CacheEntry | StreamedCacheEntry): Response {
    ctx.cacheStatus = 'HIT'
    const streamed = isStreamedEntry(entry)
    const age = String(Math.max(0, Math.floor((now() - entry.storedAt) / 1000)))
    // A record, not a Headers: the runtime's bytesResponse may keep it as it is (the Node
    // adapter does; building undici's Headers costs more than the rest of a hit there).
    const headers: Record<string, string> = {}
    if (isNotModified(ctx.request.headers, entry.headers.etag, entry.headers['last-modified'])) {
      if (streamed) void entry.body.cancel().catch(() => {})
      for (const name of NOT_MODIFIED_HEADERS) {
        const value = entry.headers[name]
        if (value !== undefined) headers[name] = value
      }
      headers.age = age
      headers['x-cache'] = 'HIT'
      if (entry.layer !== undefined) headers['x-cache-layer'] = entry.layer
      return ctx.bytesResponse(null, { status: 304, headers })
    }
    for (const name in entry.headers) headers[name] = entry.headers[name]!
    headers['content-length'] = String(streamed ? entry.size : entry.body.byteLength)
    headers['accept-ranges'] = 'bytes'
    headers.age = age
    headers['x-cache'] = 'HIT'
    if (entry.layer !== undefined) headers['x-cache-layer'] = entry.layer
    if (ctx.method === 'HEAD') {
      if (streamed) void entry.body.cancel().catch(() => {})
      return ctx.bytesResponse(null, { status: 200, headers })
    }
    if (streamed) return new Response(entry.body, { status: 200, headers })
    // Shared with the store, never copied per response: bytesResponse keeps them from being altered.
    return ctx.bytesResponse(entry.body, { status: 200, headers })
  }

  async function lookup(ctx: RequestContext, next: Next, bucket: BucketCache, key: string): Promise<Response> {
    // Two rounds at most: when the fill a request waited on failed, it looks once more
    // (one waiter leads a new fill, the others wait on that), then goes on its own.
    for (let round = 0; ; round++) {
      let flight = flights.get(key)
      if (flight === undefined) {
        let entry: CacheEntry | StreamedCacheEntry | undefined
        try {
          entry = await (bucket.store.getStream !== undefined ? bucket.store.getStream(key) : bucket.store.get(key))
        } catch (error) {
          reportFailure(bucket.name, 'get', error)
          return pass(ctx, next, 'BYPASS')
        }
        // The store should have dropped it; an entry past its TTL is never served.
        if (entry !== undefined && entry.expiresAt > now()) return serve(ctx, entry)
        if (entry !== undefined && isStreamedEntry(entry)) void entry.body.cancel().catch(() => {})
        // Another request may have started a fill while the store was being asked.
        flight = flights.get(key)
      }
      if (flight !== undefined) {
        const result = await waitFor(flight.result, ctx.request.signal)
        if (result.entry !== undefined) return serve(ctx, result.entry)
        if (result.retry && round === 0) continue
        return pass(ctx, next, 'MISS')
      }
      // Only an unconditional GET fills: HEAD has no body, and S3 may answer a
      // conditional GET with a 304 that nobody waiting could use.
      if (ctx.method !== 'GET' || isConditional(ctx.request.headers)) return pass(ctx, next, 'MISS')
      return fill(ctx, next, bucket, key)
    }
  }

  async function fill(ctx: RequestContext, next: Next, bucket: BucketCache, key: string): Promise<Response> {
    ctx.cacheStatus = 'MISS'
    const flight = createFlight()
    flights.set(key, flight)
    const land = () => {
      if (flights.get(key) === flight) flights.delete(key)
    }
    const response = await next()
    const length = declaredLength(response.headers)
    if (!isStorableResponse(response) || (length !== undefined && length > bucket.maxItemSize)) {
      // Known up front not to be kept: waiters go to S3 themselves, the body streams
      // untouched — unless the leader failed for a reason of its own (below).
      flight.settle({ retry: isLeaderOwnFailure(errorOf(response)) })
      land()
      return labelled(response, 'MISS')
    }
    const headers = storedHeaders(response.headers)
    if (bucket.store.setStream !== undefined && length !== undefined) {
      return fillStreamed(ctx, bucket, key, flight, land, response, { headers, size: length, storedAt: now(), expiresAt: now() + bucket.ttlMs })
    }
    const { stream, result } = fillFrom(response.body!, bucket.maxItemSize, length)
    const stored = result.then(async (outcome) => {
      if (outcome.body === undefined) {
        flight.settle({ retry: outcome.reason === 'failed' || outcome.reason === 'cancelled' })
        land()
        return
      }
      const storedAt = now()
      const entry: CacheEntry = { headers, body: outcome.body, storedAt, expiresAt: storedAt + bucket.ttlMs }
      // Waiters are served from memory now; the flight stays findable until the write
      // lands, so requests arriving meanwhile don't go to S3 again.
      flight.settle({ entry })
      if (flight.purged) return land()
      flight.writing = bucket.store.set(key, entry).then(
        () => {},
        (error: unknown) => reportFailure(bucket.name, 'set', error),
      )
      await flight.writing
      land()
    })
    ctx.waitUntil(stored)
    const out = new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers })
    return labelled(out, 'MISS')
  }

  /**
   * A fill into a store that writes as it reads: the body goes to the client and the
   * store together, never whole in memory. Requests waiting on it look the key up
   * again once the write has landed (or failed: then one of them fills anew).
   */
  function fillStreamed(
    ctx: RequestContext,
    bucket: BucketCache,
    key: string,
    flight: Flight,
    land: () => void,
    response: Response,
    meta: CacheEntryMeta,
  ): Response {
    const tee = teeToStore(response.body!, meta.size)
    flight.abortWrite = () => tee.abortCopy(new Error('purged'))
    const written = bucket.store.setStream!(key, meta, tee.copy).then(
      () => {},
      (error: unknown) => {
        // A transfer that did not complete (the client left, S3 failed, a purge) is no store failure.
        if (!tee.incomplete) reportFailure(bucket.name, 'set', error)
      },
    )
    flight.writing = written
    ctx.waitUntil(
      written.then(() => {
        flight.settle({ retry: true })
        land()
      }),
    )
    return labelled(new Response(tee.stream, { status: response.status, statusText: response.statusText, headers: response.headers }), 'MISS')
  }

  return async function cacheMiddleware(ctx, next) {
    const bucket = ctx.bucket && buckets.get(ctx.bucket.name)
    if (bucket === undefined || ctx.key === undefined) return pass(ctx, next, 'BYPASS')
    const response =
      bypassReason(ctx.request.headers) !== undefined
        ? await pass(ctx, next, 'BYPASS')
        : await lookup(ctx, next, bucket, variantCacheKey(bucket.name, ctx.key, ctx.variant))
    if (ctx.cacheStatus !== undefined) internals.count(bucket.name, ctx.cacheStatus)
    return response
  }
}

/**
 * Whether the fill's leader failed for a reason that says nothing about the object:
 * its own client left (499), or a bug or platform failure (not an `HttpError`). The
 * requests waiting on it then look again instead of giving up.
 */
function isLeaderOwnFailure(error: unknown): boolean {
  if (error === undefined) return false
  return !isHttpError(error) || error.code === 'ClientClosedRequest'
}

function labelled(response: Response, status: CacheStatus): Response {
  try {
    response.headers.set('X-Cache', status)
    return response
  } catch {
    // Headers of a fetched response are immutable: re-wrap the same body stream.
    const copy = new Response(response.body, response)
    copy.headers.set('X-Cache', status)
    return copy
  }
}

function storedHeaders(source: Headers): Record<string, string> {
  const headers: Record<string, string> = {}
  source.forEach((value, name) => {
    if (isObjectHeader(name) && !NOT_STORED.has(name)) headers[name] = value
  })
  return headers
}

/** The flight's result, unless this request's client leaves first. */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new ClientClosedRequestError('The client closed the request'))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ClientClosedRequestError('The client closed the request'))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/**
 * Logs store failures without flooding: the first failure of an operation per bucket
 * at once, then at most one line per interval with the number left out. Only the
 * error's name, code and a credential-masked message are logged.
 */
function failureReporter(logger: Logger): (bucket: string, operation: string, error: unknown) => void {
  const last = new Map<string, { at: number; suppressed: number }>()
  return (bucket, operation, error) => {
    const id = `${bucket}\0${operation}`
    const at = Date.now()
    const seen = last.get(id)
    if (seen !== undefined && at - seen.at < LOG_INTERVAL_MS) {
      seen.suppressed++
      return
    }
    last.set(id, { at, suppressed: 0 })
    logger.warn('cache store failed; serving from S3', {
      bucket,
      operation,
      error: describeError(error),
      ...(seen !== undefined && seen.suppressed > 0 && { suppressed: seen.suppressed }),
    })
  }
}
