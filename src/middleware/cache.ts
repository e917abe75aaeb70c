import { isNotModified } from '../cache/conditional.js'
import { cacheInternals, createCache, createFlight, type Flight, type YatagarasuCache } from '../cache/create-cache.js'
import { bypassReason, isConditional, isStorableResponse } from '../cache/decisions.js'
import { declaredLength } from '../http/declared-length.js'
import { withHeader } from '../http/mutable-response.js'
import { describeError } from '../logging/describe-error.js'
import { throttledWarn } from '../logging/throttled-warn.js'
import { fillFrom, teeToStore } from '../cache/fill.js'
import { bucketPrefix, prefixedVariantKey } from '../cache/keys.js'
import { isStreamedEntry, type CacheEntry, type CacheEntryMeta, type CacheStore, type StreamedCacheEntry } from '../cache/store.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { resolveConfig } from '../config/resolve.js'
import type { CacheStatus, Middleware, Next, RequestContext } from '../context.js'
import { errorOf } from '../compose.js'
import { ClientClosedRequestError, isHttpError } from '../errors.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { isObjectHeader } from '../s3/object-headers.js'
import { failSpan, SpanKind, startChildSpan } from '../tracing/spans.js'

export interface CacheOptions {
  /** The cache to use (its stores, purge). Default: a new {@link createCache}() of memory stores. */
  cache?: YatagarasuCache
  /** Where store failures are reported (never with secrets). Default: {@link consoleLogger}. */
  logger?: Logger
}

interface BucketCache {
  readonly name: string
  /** What its cache keys start with (see `cacheKey`), encoded once. */
  readonly keyPrefix: string
  readonly store: CacheStore
  readonly ttlMs: number
  readonly maxItemSize: number
  readonly staleWhileRevalidateMs: number
  readonly staleIfErrorMs: number
}

/** Where an entry stands at a moment: served as it is, served while revalidated, kept for S3 failures, or gone. */
type Freshness = 'fresh' | 'revalidate' | 'if-error' | 'expired'

/** A way to the stale entry when S3 fails (`staleIfError`), or `undefined` when there is none. */
type StaleFallback = (() => Promise<CacheEntry | StreamedCacheEntry | undefined>) | undefined

// Headers that describe this response rather than the object: recomputed on a hit.
const NOT_STORED = new Set(['content-length', 'content-range'])
// RFC 9110 §15.4.5: what a 304 carries (plus Last-Modified, which helps caches).
const NOT_MODIFIED_HEADERS = ['etag', 'last-modified', 'cache-control', 'expires'] as const
// What S3 failing looks like by the time it reaches the cache: unreachable or a 5xx (502),
// circuit open (503), timeout (504). A 500 is a bug of ours, not a reason to serve stale.
const ORIGIN_FAILURES = new Set([502, 503, 504])

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
  const { now, flights, revalidations } = internals
  const buckets = new Map<string, BucketCache>()
  for (const bucket of resolved.buckets) {
    if (bucket.cache === undefined) continue
    const { ttl, maxSize, maxItemSize, staleWhileRevalidate, staleIfError } = bucket.cache
    buckets.set(bucket.name, {
      name: bucket.name,
      keyPrefix: bucketPrefix(bucket.name),
      store: internals.storeFor({ name: bucket.name, ttl, maxSize, maxItemSize }),
      ttlMs: ttl * 1000,
      maxItemSize,
      staleWhileRevalidateMs: staleWhileRevalidate * 1000,
      staleIfErrorMs: staleIfError * 1000,
    })
  }
  const reportFailure = failureReporter(logger)

  /**
   * Straight through to S3, labelled (errors too: they are responses by now); when S3
   * fails and the key has an entry within `staleIfError`, that entry instead.
   */
  async function pass(ctx: RequestContext, next: Next, status: CacheStatus, fallback?: StaleFallback): Promise<Response> {
    ctx.cacheStatus = status
    const response = await next()
    if (fallback !== undefined && ORIGIN_FAILURES.has(response.status)) {
      const stale = await fallback()
      if (stale !== undefined) return serve(ctx, stale, 'STALE')
    }
    return withHeader(response, 'X-Cache', status)
  }

  /** The times of an entry stored at `start`: fresh for `ttl`, then kept for the longer stale window. */
  function lifetime(bucket: BucketCache, start: number): Pick<CacheEntry, 'storedAt' | 'expiresAt' | 'freshUntil'> {
    const staleMs = Math.max(bucket.staleWhileRevalidateMs, bucket.staleIfErrorMs)
    const freshUntil = start + bucket.ttlMs
    return { storedAt: start, expiresAt: freshUntil + staleMs, ...(staleMs > 0 && { freshUntil }) }
  }

  function freshness(bucket: BucketCache, entry: Pick<CacheEntry, 'expiresAt' | 'freshUntil'>, at: number): Freshness {
    // The store should have dropped it; an entry past `expiresAt` is never served.
    if (entry.expiresAt <= at) return 'expired'
    const freshUntil = entry.freshUntil ?? entry.expiresAt
    if (freshUntil > at) return 'fresh'
    if (at - freshUntil < bucket.staleWhileRevalidateMs) return 'revalidate'
    if (at - freshUntil < bucket.staleIfErrorMs) return 'if-error'
    return 'expired'
  }

  /** The key's entry read again once S3 failed, if it may still be served then. */
  function staleFallback(bucket: BucketCache, key: string): StaleFallback {
    if (bucket.staleIfErrorMs === 0) return undefined
    return async () => {
      let entry: CacheEntry | StreamedCacheEntry | undefined
      try {
        entry = await (bucket.store.getStream !== undefined ? bucket.store.getStream(key) : bucket.store.get(key))
      } catch (error) {
        reportFailure(bucket.name, 'get', error)
        return undefined
      }
      if (entry === undefined) return undefined
      const state = freshness(bucket, entry, now())
      if (state === 'revalidate' || state === 'if-error') return entry
      if (isStreamedEntry(entry)) void entry.body.cancel().catch(() => {})
      return undefined
    }
  }

  function serve(ctx: RequestContext, entry: CacheEntry | StreamedCacheEntry, status: 'HIT' | 'STALE' = 'HIT'): Response {
    ctx.cacheStatus = status
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
      headers['x-cache'] = status
      if (entry.layer !== undefined) headers['x-cache-layer'] = entry.layer
      return ctx.bytesResponse(null, { status: 304, headers })
    }
    for (const name in entry.headers) headers[name] = entry.headers[name]!
    headers['content-length'] = String(streamed ? entry.size : entry.body.byteLength)
    headers['accept-ranges'] = 'bytes'
    headers.age = age
    headers['x-cache'] = status
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
      // Set when the entry is past its freshness but within `staleIfError`: served if S3 fails.
      let fallback: StaleFallback
      if (flight === undefined) {
        let entry: CacheEntry | StreamedCacheEntry | undefined
        const span = startChildSpan(ctx.tracing, 'cache lookup', SpanKind.INTERNAL, { 'yatagarasu.bucket': bucket.name })
        try {
          entry = await (bucket.store.getStream !== undefined ? bucket.store.getStream(key) : bucket.store.get(key))
        } catch (error) {
          failSpan(span, error)
          span.end()
          reportFailure(bucket.name, 'get', error)
          return pass(ctx, next, 'BYPASS')
        }
        const state = entry === undefined ? undefined : freshness(bucket, entry, now())
        if (span.isRecording()) {
          span.setAttribute('yatagarasu.cache.hit', state === 'fresh' || state === 'revalidate')
          if (state !== undefined) span.setAttribute('yatagarasu.cache.freshness', state)
          if (entry?.layer !== undefined) span.setAttribute('yatagarasu.cache.layer', entry.layer)
        }
        span.end()
        if (entry !== undefined && state !== undefined) {
          if (state === 'fresh') return serve(ctx, entry)
          if (state === 'revalidate') {
            revalidate(ctx, next, bucket, key, entry)
            return serve(ctx, entry, 'STALE')
          }
          if (state === 'if-error') fallback = staleFallback(bucket, key)
          // Read again only if S3 fails: a stream kept open meanwhile would hold a file.
          if (isStreamedEntry(entry)) void entry.body.cancel().catch(() => {})
        }
        // Another request may have started a fill while the store was being asked.
        flight = flights.get(key)
      }
      if (flight !== undefined) {
        const result = await waitFor(flight.result, ctx.request.signal)
        if (result.entry !== undefined) return serve(ctx, result.entry, result.stale ? 'STALE' : 'HIT')
        if (result.retry && round === 0) continue
        return pass(ctx, next, 'MISS', fallback)
      }
      // Only an unconditional GET fills: HEAD has no body, and S3 may answer a
      // conditional GET with a 304 that nobody waiting could use.
      if (ctx.method !== 'GET' || isConditional(ctx.request.headers)) return pass(ctx, next, 'MISS', fallback)
      return fill(ctx, next, bucket, key, fallback)
    }
  }

  async function fill(ctx: RequestContext, next: Next, bucket: BucketCache, key: string, fallback: StaleFallback): Promise<Response> {
    ctx.cacheStatus = 'MISS'
    const flight = createFlight()
    flights.set(key, flight)
    // From S3's answer to the stored copy (or the reason there is none).
    const span = startChildSpan(ctx.tracing, 'cache fill', SpanKind.INTERNAL, { 'yatagarasu.bucket': bucket.name })
    const landed: Landed = (stored, error) => {
      if (error !== undefined) failSpan(span, error)
      span.setAttribute('yatagarasu.cache.stored', stored)
      span.end()
    }
    const land = () => {
      if (flights.get(key) === flight) flights.delete(key)
    }
    const response = await next()
    if (fallback !== undefined && ORIGIN_FAILURES.has(response.status)) {
      const stale = await fallback()
      if (stale !== undefined) {
        // Waiters share an entry in memory; a streamed one has one reader, so they look again.
        flight.settle(isStreamedEntry(stale) ? { retry: true } : { entry: stale, stale: true })
        land()
        landed(false)
        return serve(ctx, stale, 'STALE')
      }
    }
    return keep(ctx, bucket, key, flight, land, response, landed)
  }

  /**
   * Stores a `200` from S3 as it streams to the client (or lets anything else through),
   * settling `flight` for the requests waiting on it; `land` ends the flight, `landed`
   * the fill's span.
   */
  function keep(
    ctx: RequestContext,
    bucket: BucketCache,
    key: string,
    flight: Flight,
    land: () => void,
    response: Response,
    landed: Landed = () => {},
  ): Response {
    const length = declaredLength(response.headers)
    if (!isKeepable(response, bucket)) {
      // Known up front not to be kept: waiters go to S3 themselves, the body streams
      // untouched — unless the leader failed for a reason of its own (below).
      flight.settle({ retry: isLeaderOwnFailure(errorOf(response)) })
      land()
      landed(false)
      return withHeader(response, 'X-Cache', 'MISS')
    }
    const headers = storedHeaders(response.headers)
    if (bucket.store.setStream !== undefined && length !== undefined) {
      return fillStreamed(ctx, bucket, key, flight, land, response, { headers, size: length, ...lifetime(bucket, now()) }, landed)
    }
    const { stream, result } = fillFrom(response.body!, bucket.maxItemSize, length)
    const stored = result.then(async (outcome) => {
      if (outcome.body === undefined) {
        flight.settle({ retry: outcome.reason === 'failed' || outcome.reason === 'cancelled' })
        land()
        landed(false)
        return
      }
      const entry: CacheEntry = { headers, body: outcome.body, ...lifetime(bucket, now()) }
      // Waiters are served from memory now; the flight stays findable until the write
      // lands, so requests arriving meanwhile don't go to S3 again.
      flight.settle({ entry })
      if (flight.purged) {
        land()
        landed(false)
        return
      }
      flight.writing = bucket.store.set(key, entry).then(
        () => landed(true),
        (error: unknown) => {
          landed(false, error)
          reportFailure(bucket.name, 'set', error)
        },
      )
      await flight.writing
      land()
    })
    ctx.waitUntil(stored)
    const out = new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers })
    return withHeader(out, 'X-Cache', 'MISS')
  }

  /**
   * Serves nothing: in the background, one conditional GET per key (single-flight, apart
   * from the fills requests wait on) asks S3 whether the stale entry is still current.
   * A `304` renews the entry from the store's own copy (no download); a `200` replaces
   * it; a failure leaves it as it is, to be tried again by the next stale hit. It uses
   * the rest of the chain (this request's `next`, which nothing else will call).
   */
  function revalidate(ctx: RequestContext, next: Next, bucket: BucketCache, key: string, stale: CacheEntry | StreamedCacheEntry): void {
    if (revalidations.has(key) || flights.has(key)) return
    // A variant (image transform) is checked by fetching it again, and only from a GET:
    // the source's ETag is not the variant's, and a HEAD makes no body to store.
    if (ctx.variant !== undefined && ctx.method !== 'GET') return
    const flight = createFlight()
    revalidations.set(key, flight)
    const land = () => {
      if (revalidations.get(key) === flight) revalidations.delete(key)
    }
    const etag = ctx.variant === undefined ? stale.headers.etag : undefined
    // The background request outlives the client's: a copy with a signal of its own,
    // which the client leaving (or the runtime ending its request) does not abort.
    const headers = new Headers()
    ctx.request.headers.forEach((value, name) => headers.append(name, value))
    Object.assign(ctx, { request: new Request(ctx.request.url, { method: 'GET', headers }) })
    if (ctx.variant === undefined || ctx.originRequest === undefined) {
      ctx.originRequest = { method: 'GET', headers: new Headers(etag !== undefined ? { 'if-none-match': etag } : {}) }
    }
    const work = (async () => {
      const response = await next()
      if (flight.purged) return void response.body?.cancel().catch(() => {})
      if (response.status === 304 && etag !== undefined) return renew(bucket, key, flight, etag)
      if (response.status !== 200 || !isKeepable(response, bucket)) return void response.body?.cancel().catch(() => {})
      // Read to the end here, the store taking its copy on the way (as a fill does).
      const kept = keep(ctx, bucket, key, flight, land, response)
      await kept.body?.pipeTo(new WritableStream())
    })()
      .catch((error: unknown) => reportFailure(bucket.name, 'revalidate', error))
      .finally(land)
    ctx.waitUntil(work)
  }

  /** After a `304`: the stored copy, if it is still the one S3 confirmed, fresh again. */
  async function renew(bucket: BucketCache, key: string, flight: Flight, etag: string): Promise<void> {
    const { store } = bucket
    const current = await (store.getStream !== undefined ? store.getStream(key) : store.get(key))
    if (current === undefined) return
    const times = lifetime(bucket, now())
    if (current.headers.etag !== etag || flight.purged) {
      if (isStreamedEntry(current)) void current.body.cancel().catch(() => {})
      return
    }
    if (isStreamedEntry(current)) {
      if (store.setStream === undefined) return void current.body.cancel().catch(() => {})
      flight.writing = store.setStream(key, { headers: current.headers, size: current.size, ...times }, current.body)
    } else {
      flight.writing = store.set(key, { headers: current.headers, body: current.body, ...times })
    }
    await flight.writing
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
    landed: Landed,
  ): Response {
    const tee = teeToStore(response.body!, meta.size)
    flight.abortWrite = () => tee.abortCopy(new Error('purged'))
    const written = bucket.store.setStream!(key, meta, tee.copy).then(
      () => landed(true),
      (error: unknown) => {
        // A transfer that did not complete (the client left, S3 failed, a purge) is no store failure.
        if (tee.incomplete) return landed(false)
        landed(false, error)
        reportFailure(bucket.name, 'set', error)
      },
    )
    flight.writing = written
    ctx.waitUntil(
      written.then(() => {
        flight.settle({ retry: true })
        land()
      }),
    )
    return withHeader(new Response(tee.stream, { status: response.status, statusText: response.statusText, headers: response.headers }), 'X-Cache', 'MISS')
  }

  /**
   * A fresh entry of a store that answers synchronously (`peek`: the memory store), served
   * at once; `undefined` when anything else applies (a fill in flight, a stale or missing
   * entry, a traced request whose lookup gets its span), which {@link lookup} then handles.
   */
  function quickHit(ctx: RequestContext, bucket: BucketCache, key: string): Response | undefined {
    const store = bucket.store
    if (store.peek === undefined || store.getStream !== undefined || ctx.tracing !== undefined || flights.has(key)) return undefined
    let entry: CacheEntry | undefined
    try {
      entry = store.peek(key)
    } catch {
      return undefined // lookup asks again, and reports the failure
    }
    if (entry === undefined || freshness(bucket, entry, now()) !== 'fresh') return undefined
    const response = serve(ctx, entry)
    internals.count(bucket.name, 'HIT')
    return response
  }

  async function counted(bucket: BucketCache, ctx: RequestContext, pending: Promise<Response>): Promise<Response> {
    const response = await pending
    if (ctx.cacheStatus !== undefined) internals.count(bucket.name, ctx.cacheStatus)
    return response
  }

  // Not async: a fresh hit from a store in memory is answered without a promise of its own.
  return function cacheMiddleware(ctx, next) {
    const bucket = ctx.bucket && buckets.get(ctx.bucket.name)
    if (bucket === undefined || ctx.key === undefined) return pass(ctx, next, 'BYPASS')
    if (bypassReason(ctx.request.headers) !== undefined) return counted(bucket, ctx, pass(ctx, next, 'BYPASS'))
    const key = prefixedVariantKey(bucket.keyPrefix, ctx.key, ctx.variant)
    const hit = quickHit(ctx, bucket, key)
    return hit !== undefined ? Promise.resolve(hit) : counted(bucket, ctx, lookup(ctx, next, bucket, key))
  }
}

/** Whether S3's answer may be stored: a storable `200` whose declared length fits the bucket's `maxItemSize`. */
function isKeepable(response: Response, bucket: BucketCache): boolean {
  const length = declaredLength(response.headers)
  return isStorableResponse(response) && !(length !== undefined && length > bucket.maxItemSize)
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

/** Tells the `cache fill` span how the fill ended: stored or not, and the store's error if one failed. */
type Landed = (stored: boolean, error?: unknown) => void

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
  const warn = throttledWarn(logger)
  return (bucket, operation, error) =>
    warn('cache store failed; serving from S3', { bucket, operation, error: describeError(error) }, `${bucket}\0${operation}`)
}
