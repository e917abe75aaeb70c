import { isSpanContextValid, propagation, ROOT_CONTEXT, trace, type Attributes, type Span, type TextMapGetter, type TracerProvider } from '@opentelemetry/api'
import type { Middleware, Next, RequestContext } from '../context.js'
import { observeBody } from '../http/observe-body.js'
import { SpanKind, SpanStatusCode, TRACER_NAME } from '../tracing/spans.js'

export interface TracingOptions {
  /**
   * Where spans go. Default: the provider registered with `@opentelemetry/api`
   * (`trace.setGlobalTracerProvider`, or an SDK's `register()`); without one, every
   * span is a no-op that records nothing.
   */
  tracerProvider?: TracerProvider
}

// The methods HTTP semantic conventions name; any other is reported as `_OTHER`.
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'])

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
}

/**
 * OpenTelemetry tracing through `@opentelemetry/api`: one server span per request, named
 * `GET /prefix/*` once a bucket matched, with the stable HTTP semantic-convention
 * attributes (`http.request.method`, `url.path`, `url.scheme`, `server.address`,
 * `http.route`, `http.response.status_code`, `user_agent.original`, `client.address`)
 * and `yatagarasu.bucket`, `yatagarasu.cache`, `yatagarasu.request_id`. Never the query
 * string (tokens and signatures live there) nor any request header but the user agent.
 * The client's W3C `traceparent` is honoured through the registered propagator. Later
 * middlewares add child spans (JWKS fetch, cache lookup and fill, the S3 request) from
 * `ctx.tracing`. A recorded span ends when the response body has been sent; without a
 * tracer provider nothing is recorded and the body is not wrapped. Place it right after
 * `requestId`.
 *
 * @example
 * trace.setGlobalTracerProvider(provider) // from an OpenTelemetry SDK
 * compose(requestId(), tracing(), routing(config), s3Origin(config))
 */
export function tracing(options: TracingOptions = {}): Middleware {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(TRACER_NAME)
  // Not async: without a recorded span the request goes on with no promise of its own.
  return function tracingMiddleware(ctx, next) {
    const parent = propagation.extract(ROOT_CONTEXT, ctx.request.headers, headerGetter)
    const method = KNOWN_METHODS.has(ctx.method) ? ctx.method : '_OTHER'
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER }, parent)
    if (!span.isRecording()) {
      span.end()
      // No tracer behind it at all (no SDK, no traceparent): child spans would be no-ops
      // too, and the context they would start from costs a Map copy per request.
      if (!isSpanContextValid(span.spanContext())) return next()
      // Sampled out, or only a client's traceparent: its context still parents the child spans.
      ctx.tracing = { tracer, context: trace.setSpan(parent, span) }
      return next()
    }
    ctx.tracing = { tracer, context: trace.setSpan(parent, span) }
    span.setAttributes(requestAttributes(ctx, method))
    return recorded(ctx, next, span, method)
  }

  async function recorded(ctx: RequestContext, next: Next, span: Span, method: string): Promise<Response> {
    const response = await next()
    const status = response.status
    const route = ctx.bucket && routeOf(ctx.bucket.pathPrefix)
    if (route !== undefined) span.updateName(`${method} ${route}`)
    span.setAttributes({
      'http.response.status_code': status,
      'yatagarasu.request_id': ctx.requestId,
      ...(route !== undefined && { 'http.route': route, 'yatagarasu.bucket': ctx.bucket!.name }),
      ...(ctx.cacheStatus !== undefined && { 'yatagarasu.cache': ctx.cacheStatus }),
    })
    // Semantic conventions: a 4xx is the client's doing, not a failed server span.
    if (status >= 500) {
      span.setAttribute('error.type', String(status))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
    return observeBody(response, {
      onEnd(bytes, outcome) {
        span.setAttribute('http.response.body.size', bytes)
        if (outcome !== 'completed') span.setAttribute('yatagarasu.body_outcome', outcome)
        span.end()
      },
    })
  }
}

function requestAttributes(ctx: RequestContext, method: string): Attributes {
  const url = ctx.url
  const userAgent = ctx.request.headers.get('user-agent')
  return {
    'http.request.method': method,
    ...(method === '_OTHER' && { 'http.request.method_original': ctx.method }),
    'url.path': url.pathname,
    'url.scheme': url.protocol.slice(0, -1),
    'server.address': url.hostname,
    ...(url.port !== '' && { 'server.port': Number(url.port) }),
    ...(userAgent !== null && { 'user_agent.original': userAgent }),
    ...(ctx.clientIp !== undefined && { 'client.address': ctx.clientIp }),
  }
}

/** The bucket's route as a template: `/cdn` → `/cdn/*`, `/` → `/*`. */
function routeOf(pathPrefix: string): string {
  return pathPrefix.endsWith('/') ? `${pathPrefix}*` : `${pathPrefix}/*`
}
