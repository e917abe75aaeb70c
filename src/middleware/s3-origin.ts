import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { resolveConfig } from '../config/resolve.js'
import type { Middleware } from '../context.js'
import {
  BadGatewayError,
  ForbiddenError,
  HttpError,
  NotFoundError,
  PreconditionFailedError,
  RangeNotSatisfiableError,
} from '../errors.js'
import type { Logger } from '../logging/logger.js'
import { withIdleTimeout } from '../reliability/idle-timeout.js'
import { forwardedRequestHeaders, objectResponseHeaders } from '../s3/object-headers.js'
import type { FetchFunction } from '../s3/s3-client.js'
import type { CredentialsRuntime } from '../s3/credential-providers.js'
import { createTargetPool, type TargetPool } from '../s3/target-pool.js'
import { declaredLength } from '../http/declared-length.js'
import { observeBody } from '../http/observe-body.js'
import { failSpan, SpanKind, SpanStatusCode, startChildSpan } from '../tracing/spans.js'

export interface S3OriginOptions {
  /**
   * The fetch used to reach S3. It must not decode `Content-Encoding` (Node's global
   * fetch gunzips bodies while keeping the header, which corrupts pre-compressed
   * objects); the Node adapter provides one that doesn't, per request. Default:
   * the runtime's `originFetch` from the handler context, else `globalThis.fetch`.
   */
  fetch?: FetchFunction
  /** Receives S3 circuit breaker changes and failed credential refreshes. Default: none. */
  logger?: Logger
  /**
   * What the built-in `s3.credentials` providers read: the environment and token files.
   * The standalone server passes the process's. Default: none (a built-in provider then
   * fails, logged, and requests answer 502).
   */
  credentialsRuntime?: CredentialsRuntime
}

/**
 * The end of the chain: signs the request for the routed bucket, sends it to S3 and
 * streams S3's answer back. The body is handed through as the same stream — never
 * buffered or copied — so the first byte leaves as soon as S3 sends it, and a client
 * that goes away (request signal aborted, response body cancelled) cancels the S3
 * transfer. S3's errors become the proxy's JSON errors; nothing of S3's own error
 * (XML, request ids, bucket, endpoint) reaches the client.
 *
 * Reliability (per bucket, see docs/reliability.md): replicas tried by priority,
 * retries with backoff and a retry budget, a circuit breaker per target — all before
 * the response starts; once it has, a body that stalls longer than `idleTimeout`
 * errors (the client sees an aborted transfer, the cache stores nothing).
 */
export function s3Origin(config: YatagarasuConfig | ResolvedConfig, options: S3OriginOptions = {}): Middleware {
  const origins = new Map<string, { pool: TargetPool; idleTimeoutMs: number; s3Bucket: string }>()
  for (const bucket of resolveConfig(config).buckets) {
    const pool = createTargetPool(bucket.s3, {
      bucket: bucket.name,
      ...(options.logger && { logger: options.logger }),
      ...(options.credentialsRuntime && { credentialsRuntime: options.credentialsRuntime }),
    })
    origins.set(bucket.name, { pool, idleTimeoutMs: bucket.s3.idleTimeoutMs, s3Bucket: bucket.s3.bucket })
  }

  return async function s3OriginMiddleware(ctx) {
    const origin = ctx.bucket && origins.get(ctx.bucket.name)
    if (!origin || ctx.key === undefined) throw new NotFoundError('No bucket is configured for this path')
    const method = ctx.originRequest?.method ?? (ctx.method === 'HEAD' ? 'HEAD' : 'GET')
    const headers = ctx.originRequest?.headers ?? forwardedRequestHeaders(ctx.request.headers)
    const fetch = options.fetch ?? ctx.originFetch ?? globalFetch
    const started = performance.now()
    const operation = method === 'HEAD' ? 'HeadObject' : 'GetObject'
    // Retries and replicas included: one span for what the request asked of S3.
    const span = startChildSpan(ctx.tracing, `S3 ${operation}`, SpanKind.CLIENT, {
      'rpc.system': 'aws-api',
      'rpc.service': 'S3',
      'rpc.method': operation,
      'aws.s3.bucket': origin.s3Bucket,
      'aws.s3.key': ctx.key,
    })
    let client: Response
    try {
      let { response, reportStall } = await origin.pool.send({ method, key: ctx.key, headers, signal: ctx.request.signal }, fetch)
      if (ctx.decodesContentEncoding && isRangeOfEncodedObject(headers, response)) {
        discardBody(response)
        ;({ response, reportStall } = await origin.pool.send({ method, key: ctx.key, headers: withoutRange(headers), signal: ctx.request.signal }, fetch))
      }
      ctx.timings.s3 = performance.now() - started
      if (span.isRecording()) span.setAttribute('http.response.status_code', response.status)
      client = toClientResponse(response, method, origin.idleTimeoutMs, reportStall)
    } catch (error) {
      failSpan(span, error)
      span.end()
      throw error
    }
    if (!span.isRecording()) {
      span.end()
      return client
    }
    // A recorded span lasts until the body has come through (or stopped).
    return observeBody(client, {
      onEnd(bytes, outcome) {
        if (outcome === 'errored') span.setStatus({ code: SpanStatusCode.ERROR, message: 'body failed' })
        else if (outcome === 'cancelled') span.setAttribute('yatagarasu.body_outcome', outcome)
        span.end()
      },
    })
  }
}

/** A part of a pre-compressed object: wrong bytes once the platform decodes them (see `decodesContentEncoding`). */
function isRangeOfEncodedObject(sent: Headers, response: Response): boolean {
  return response.status === 206 && sent.has('range') && response.headers.has('content-encoding')
}

function withoutRange(sent: Headers): Headers {
  const headers = new Headers(sent)
  headers.delete('range')
  headers.delete('if-range')
  return headers
}

export const globalFetch: FetchFunction = (input, init) => fetch(input, init)

function toClientResponse(s3: Response, method: 'GET' | 'HEAD', idleTimeoutMs: number, onStall: () => void): Response {
  const status = s3.status
  if (status === 200 || status === 206) {
    const headers = objectResponseHeaders(s3.headers)
    if (method === 'HEAD' || s3.body === null) {
      discardBody(s3)
      return new Response(null, { status, headers })
    }
    return new Response(withIdleTimeout(s3.body, idleTimeoutMs, onStall, declaredLength(headers)), { status, headers })
  }
  discardBody(s3)
  if (status === 304) return new Response(null, { status, headers: objectResponseHeaders(s3.headers) })
  throw s3Error(s3)
}

/** S3's error status as the proxy's error (nothing of S3's own answer kept). */
export function s3Error(s3: Response): HttpError {
  switch (s3.status) {
    case 404:
      return new NotFoundError('The object does not exist')
    case 403:
      return new ForbiddenError('Access to the object is denied')
    case 412:
      return new PreconditionFailedError('A precondition of the request did not hold')
    case 416: {
      const contentRange = s3.headers.get('content-range')
      return new RangeNotSatisfiableError('The requested range is not satisfiable', {
        ...(contentRange !== null && { headers: { 'Content-Range': contentRange } }),
      })
    }
    default:
      // 5xx, and anything S3 should never say to a well-formed signed GET (redirects
      // for a wrong region, 400s for a bad signature): a problem behind the proxy.
      return new BadGatewayError('The storage backend failed to serve the object')
  }
}

/** Frees the connection of an S3 error response; its XML must not reach the client. */
function discardBody(response: Response): void {
  response.body?.cancel().catch(() => {})
}
