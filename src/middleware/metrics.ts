import type { Middleware } from '../context.js'
import { observeBody } from '../http/observe-body.js'
import { instrumentsOf, methodLabel, type YatagarasuMetrics } from '../metrics/collector.js'

/**
 * Records each request into `collector`: the count by bucket, method and status, the
 * time until the response headers, the body bytes sent, the requests and body
 * streams in flight, and the cache outcome (`ctx.cacheStatus`). Place it early (every
 * error reaches it as a response, with its status) and pair it with
 * {@link s3Metrics} just before `s3Origin` for the S3 side. Requests that matched no
 * bucket are labelled `bucket=""`.
 *
 * @example
 * const collector = createMetrics()
 * const handler = compose(requestId(), metrics(collector), routing(config), readOnly(),
 *   cache(config), s3Metrics(collector), s3Origin(config))
 */
export function metrics(collector: YatagarasuMetrics): Middleware {
  const m = instrumentsOf(collector)
  return async function metricsMiddleware(ctx, next) {
    m.inFlight.inc()
    const response = await next()
    m.inFlight.dec()
    const bucket = ctx.bucket?.name ?? ''
    const method = methodLabel(ctx.method)
    m.requests.inc({ bucket, method, status: String(response.status) })
    m.duration.observe({ bucket, method }, (performance.now() - ctx.startTime) / 1000)
    if (ctx.bucket !== undefined && ctx.cacheStatus !== undefined) m.cacheResults[ctx.cacheStatus].inc({ bucket })
    if (response.body === null) return response
    const labels = { bucket }
    m.streams.inc(labels)
    return observeBody(response, {
      onChunk: (bytes) => m.bytes.inc(labels, bytes),
      onEnd: () => m.streams.dec(labels),
    })
  }
}

/**
 * Records the S3 side into `collector`: one request per call to S3 (its retries and
 * replicas included) by bucket and outcome status, the time until S3's headers, and
 * failures by reason. Place it right before `s3Origin`; requests answered by the cache
 * never reach it. The status is S3's for answers passed on (200, 206, 304, 403, 404,
 * 412, 416), else the proxy's: 502 (S3 5xx or unreachable), 503 (circuit open), 504
 * (timeout), 499 (the client left first).
 */
export function s3Metrics(collector: YatagarasuMetrics): Middleware {
  const m = instrumentsOf(collector)
  return async function s3MetricsMiddleware(ctx, next) {
    if (ctx.bucket === undefined) return next()
    const bucket = ctx.bucket.name
    const started = performance.now()
    const record = (status: number) => {
      m.s3Requests.inc({ bucket, status: String(status) })
      m.s3Duration.observe({ bucket }, (performance.now() - started) / 1000)
      const reason = FAILURES[status]
      if (reason !== undefined) m.s3Errors.inc({ bucket, reason })
    }
    const response = await next()
    record(response.status)
    return response
  }
}

const FAILURES: Record<number, string> = {
  500: 'internal',
  502: 'failed',
  503: 'circuit_open',
  504: 'timeout',
}
