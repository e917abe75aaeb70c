/**
 * The standalone server's OpenTelemetry SDK: set up when `tracing.enabled`, exporting
 * spans as OTLP over HTTP configured by the standard `OTEL_*` variables. The SDK packages
 * are loaded here, on demand, so a server without tracing (and every other entry) never
 * loads them.
 */
import { propagation, type TracerProvider } from '@opentelemetry/api'
import type { Sampler, SpanExporter } from '@opentelemetry/sdk-trace'
import type { Logger } from '../logging/logger.js'
import { VERSION } from './version.js'

export interface TracingSettings {
  readonly enabled: boolean
  /** `service.name` of the spans, unless `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`) says otherwise. */
  readonly serviceName: string
}

export interface ServerTracing {
  readonly tracerProvider: TracerProvider
  /** `http/protobuf` or `http/json`. */
  readonly protocol: OtlpProtocol
  /** Exports what is left and stops. */
  shutdown(): Promise<void>
}

export type OtlpProtocol = 'http/protobuf' | 'http/json'

type Env = Readonly<Record<string, string | undefined>>

/** Thrown when tracing can't be set up; the server does not start. */
export class TracingSetupError extends Error {
  override readonly name = 'TracingSetupError'
}

const SDK_PACKAGES = '@opentelemetry/sdk-trace @opentelemetry/core @opentelemetry/resources @opentelemetry/exporter-trace-otlp-proto @opentelemetry/exporter-trace-otlp-http'

/**
 * Starts the SDK: a tracer provider with a batching processor and the OTLP exporter the
 * protocol names, and the W3C trace-context propagator registered with
 * `@opentelemetry/api` (so a client's `traceparent` is honoured). The exporter reads its
 * endpoint, headers, timeout and compression from the `OTEL_EXPORTER_OTLP_*` variables
 * of the process environment itself.
 */
export async function startTracing(settings: TracingSettings, env: Env, logger: Logger): Promise<ServerTracing> {
  const protocol = otlpProtocol(env)
  let sdk: typeof import('@opentelemetry/sdk-trace')
  let core: typeof import('@opentelemetry/core')
  let resources: typeof import('@opentelemetry/resources')
  // Both exporters read their endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*.
  let Exporter: new () => SpanExporter
  try {
    ;[sdk, core, resources, Exporter] = await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
      protocol === 'http/json'
        ? import('@opentelemetry/exporter-trace-otlp-http').then((m) => m.OTLPTraceExporter)
        : import('@opentelemetry/exporter-trace-otlp-proto').then((m) => m.OTLPTraceExporter),
    ])
  } catch (error) {
    throw new TracingSetupError(`tracing needs the OpenTelemetry SDK packages (npm install ${SDK_PACKAGES})`, { cause: error })
  }

  // Attributes detected from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win over the config's.
  const resource = resources
    .resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': VERSION })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
  const processor = new sdk.BatchSpanProcessor({
    exporter: new Exporter(),
    ...numberFromEnv(env, 'OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis'),
    ...numberFromEnv(env, 'OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis'),
    ...numberFromEnv(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'),
    ...numberFromEnv(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize'),
  })
  const tracerProvider = new sdk.TracerProvider({ resource, sampler: samplerFromEnv(sdk, env), spanProcessors: [processor] })
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator())
  logger.info('tracing enabled', { protocol, serviceName: resource.attributes['service.name'] })

  let stopped: Promise<void> | undefined
  return {
    tracerProvider,
    protocol,
    shutdown() {
      stopped ??= tracerProvider.shutdown().then(
        () => propagation.disable(),
        (error: unknown) => {
          propagation.disable()
          logger.warn('tracing: spans could not be exported at shutdown', { error: error instanceof Error ? error.name : typeof error })
        },
      )
      return stopped
    },
  }
}

/** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. */
export function otlpProtocol(env: Env): OtlpProtocol {
  const value = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim()
  if (value === 'http/protobuf' || value === 'http/json') return value
  throw new TracingSetupError(`OTEL_EXPORTER_OTLP_PROTOCOL ${JSON.stringify(value)} is not supported: use http/protobuf or http/json`)
}

function numberFromEnv<K extends string>(env: Env, name: string, option: K): { [P in K]?: number } {
  const text = env[name]?.trim()
  if (!text) return {}
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0) throw new TracingSetupError(`${name} must be a number, 0 or more`)
  return { [option]: value } as { [P in K]?: number }
}

/** `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG`), as the specification names them. Default `parentbased_always_on`. */
function samplerFromEnv(sdk: typeof import('@opentelemetry/sdk-trace'), env: Env): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_always_on'
  const ratio = () => {
    const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim()
    const value = arg ? Number(arg) : 1
    if (!(value >= 0 && value <= 1)) throw new TracingSetupError('OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1')
    return new sdk.TraceIdRatioBasedSampler(value)
  }
  switch (name) {
    case 'always_on':
      return new sdk.AlwaysOnSampler()
    case 'always_off':
      return new sdk.AlwaysOffSampler()
    case 'traceidratio':
      return ratio()
    case 'parentbased_always_on':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() })
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() })
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: ratio() })
    default:
      throw new TracingSetupError(`OTEL_TRACES_SAMPLER ${JSON.stringify(name)} is not supported`)
  }
}
