import { INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api'

/**
 * Where a request's child spans go: the tracer and the context holding the request's
 * server span. Passed explicitly (on the request context, then to the JWKS fetch), never
 * through `context.active()`: that needs a context manager (AsyncLocalStorage), which
 * the edge runtimes don't all have.
 */
export interface RequestTracing {
  readonly tracer: Tracer
  readonly context: Context
}

/** The instrumentation scope's name, as a tracer provider sees it. */
export const TRACER_NAME = 'yatagarasu'

// The span for code that runs without a request's tracing (a custom chain without the
// tracing middleware): records nothing, costs nothing.
const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)

/** Starts a child span of the request's server span (a no-op span when the request isn't traced). */
export function startChildSpan(tracing: RequestTracing | undefined, name: string, kind: SpanKind, attributes?: Attributes): Span {
  if (tracing === undefined) return NO_SPAN
  return tracing.tracer.startSpan(name, { kind, ...(attributes && { attributes }) }, tracing.context)
}

/**
 * Marks a span failed. Only the error's name goes in: messages can hold URLs with
 * credentials, and exporters keep spans longer than logs.
 */
export function failSpan(span: Span, error: unknown): void {
  if (!span.isRecording()) return
  const type = error instanceof Error ? error.name : 'Error'
  span.setAttribute('error.type', type)
  span.setStatus({ code: SpanStatusCode.ERROR, message: type })
}

export { SpanKind, SpanStatusCode }
