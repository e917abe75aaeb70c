import {
  createRegistry,
  DEFAULT_SECONDS_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  type Counter,
  type Gauge,
  type Histogram,
  type Labels,
  type MetricRegistry,
} from './registry.js'

/**
 * What the metrics read from a cache store when scraped. `memoryStore()` has `size`
 * and `entries`; a store that counts its evictions can expose `evictions` (a running
 * total), or call {@link YatagarasuMetrics.recordCacheEvictions} as they happen.
 */
export interface CacheStoreStats {
  /** Bytes held. */
  readonly size?: number
  /** Entries held. */
  readonly entries?: number
  /** Entries evicted so far (a running total). */
  readonly evictions?: number
}

export interface MetricsOptions {
  /** Prefix of every metric name. Default `yatagarasu_`. */
  prefix?: string
  /** Histogram buckets (seconds) of the request and S3 latencies. Default Prometheus' (5 ms … 10 s). */
  durationBuckets?: readonly number[]
}

/**
 * The proxy's metrics, filled by the {@link metrics} and {@link s3Metrics} middlewares
 * (`createYatagarasu(config, { metrics })` installs both) and rendered in the
 * Prometheus text format. Labels are only bucket names, methods and status codes.
 */
export interface YatagarasuMetrics {
  /** The registry, to add metrics of your own next to the proxy's. */
  readonly registry: MetricRegistry
  /** Every metric in the Prometheus text exposition format (0.0.4). */
  render(): string
  /** A `200` response with {@link render}'s text and its content type, for a `/metrics` route. */
  response(): Response
  /** Reads a bucket's cache store (`size`, `entries`, `evictions`) at each scrape; a later call for the same bucket replaces it. */
  observeCacheStore(bucket: string, store: CacheStoreStats): void
  /** Counts evictions from a bucket's cache store, for stores that report them as they happen. */
  recordCacheEvictions(bucket: string, count?: number): void
}

/** What the middlewares record into; kept off the public type. */
export interface Instruments {
  readonly requests: Counter
  readonly duration: Histogram
  readonly bytes: Counter
  readonly inFlight: Gauge
  readonly streams: Gauge
  readonly s3Requests: Counter
  readonly s3Errors: Counter
  readonly s3Duration: Histogram
  readonly cacheResults: Record<'HIT' | 'MISS' | 'BYPASS' | 'STALE', Counter>
}

const instruments = new WeakMap<YatagarasuMetrics, Instruments>()

/**
 * Creates the metrics of one or more handlers. Keep one for the life of the process
 * (pass it to every handler re-created on a config reload) so counters never reset.
 *
 * @example
 * const metrics = createMetrics()
 * const proxy = createYatagarasu(config, { metrics })
 * Bun.serve({ fetch: (req) => (new URL(req.url).pathname === '/metrics' ? metrics.response() : proxy(req)) })
 */
export function createMetrics(options: MetricsOptions = {}): YatagarasuMetrics {
  const prefix = options.prefix ?? 'yatagarasu_'
  const buckets = options.durationBuckets ?? DEFAULT_SECONDS_BUCKETS
  const registry = createRegistry()
  const stores = new Map<string, CacheStoreStats>()

  function* read(field: keyof CacheStoreStats): Iterable<readonly [Labels, number]> {
    for (const [bucket, store] of stores) {
      const value = store[field]
      if (typeof value === 'number' && Number.isFinite(value)) yield [{ bucket }, value]
    }
  }

  const recorded: Instruments = {
    requests: registry.counter(`${prefix}http_requests_total`, 'Requests answered, by bucket, method and status code.', ['bucket', 'method', 'status']),
    duration: registry.histogram(
      `${prefix}http_request_duration_seconds`,
      'Time until the response headers were ready, by bucket and method.',
      ['bucket', 'method'],
      buckets,
    ),
    bytes: registry.counter(`${prefix}http_response_bytes_total`, 'Response body bytes sent to clients, by bucket.', ['bucket']),
    inFlight: registry.gauge(`${prefix}http_requests_in_flight`, 'Requests being handled (until their response headers).'),
    streams: registry.gauge(`${prefix}http_streams_in_flight`, 'Response bodies being streamed to clients, by bucket.', ['bucket']),
    s3Requests: registry.counter(
      `${prefix}s3_requests_total`,
      'Requests to S3 (one per proxied request, retries and replicas included), by bucket and outcome status.',
      ['bucket', 'status'],
    ),
    s3Errors: registry.counter(`${prefix}s3_errors_total`, 'S3 requests that failed (timeout, unreachable, 5xx, circuit open), by bucket and reason.', ['bucket', 'reason']),
    s3Duration: registry.histogram(`${prefix}s3_request_duration_seconds`, 'Time until S3 answered with headers, by bucket.', ['bucket'], buckets),
    cacheResults: {
      HIT: registry.counter(`${prefix}cache_hits_total`, 'Requests answered from the cache, by bucket.', ['bucket']),
      MISS: registry.counter(`${prefix}cache_misses_total`, 'Requests the cache could not answer (sent to S3), by bucket.', ['bucket']),
      BYPASS: registry.counter(`${prefix}cache_bypasses_total`, 'Requests that skipped the cache (cache off, Range, no-cache, store failure), by bucket.', ['bucket']),
      STALE: registry.counter(`${prefix}cache_stale_total`, 'Requests answered from an expired entry (stale_while_revalidate, stale_if_error), by bucket.', ['bucket']),
    },
  }
  const evictions = registry.counter(`${prefix}cache_evictions_total`, 'Cache entries evicted to stay within max_size, by bucket.', ['bucket'], () => read('evictions'))
  registry.gauge(`${prefix}cache_bytes`, 'Bytes held by the cache, by bucket.', ['bucket'], () => read('size'))
  registry.gauge(`${prefix}cache_entries`, 'Entries held by the cache, by bucket.', ['bucket'], () => read('entries'))

  const metrics: YatagarasuMetrics = {
    registry,
    render: () => registry.render(),
    response: () =>
      new Response(registry.render(), {
        status: 200,
        headers: { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' },
      }),
    observeCacheStore(bucket, store) {
      stores.set(bucket, store)
    },
    recordCacheEvictions(bucket, count = 1) {
      evictions.inc({ bucket }, count)
    },
  }
  instruments.set(metrics, recorded)
  return metrics
}

export function instrumentsOf(metrics: YatagarasuMetrics): Instruments {
  const found = instruments.get(metrics)
  if (found === undefined) throw new TypeError('expected metrics made by createMetrics()')
  return found
}

const METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH'])

/** A bounded method label: anything unusual is `OTHER` (methods are client-chosen text). */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER'
}
