/**
 * A local OTLP/HTTP trace collector for tests: accepts `POST /v1/traces` as
 * `application/x-protobuf` or `application/json` and decodes each export request into
 * plain spans. The protobuf side is a small reader of the wire format that knows the few
 * fields of `ExportTraceServiceRequest` the tests look at (opentelemetry-proto,
 * trace/v1/trace.proto): independent of the exporter's own serializer, so a test proves
 * what went over the wire.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface CollectedSpan {
  traceId: string
  spanId: string
  /** '' for a root span. */
  parentSpanId: string
  name: string
  kind: number
  attributes: Record<string, string | number | boolean>
  /** The resource's attributes (service.name, ...). */
  resource: Record<string, string | number | boolean>
}

export interface OtlpCollector {
  /** `http://127.0.0.1:PORT`, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string
  spans: CollectedSpan[]
  /** Content types of the export requests received, in order. */
  contentTypes: string[]
  close(): Promise<void>
}

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = []
  const contentTypes: string[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim()
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end()
        return
      }
      contentTypes.push(type)
      const body = Buffer.concat(chunks)
      try {
        if (type === 'application/x-protobuf') {
          spans.push(...decodeProtobuf(body))
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
        } else if (type === 'application/json') {
          spans.push(...decodeJson(JSON.parse(body.toString('utf8')) as JsonRequest))
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
        } else {
          res.writeHead(415).end()
        }
      } catch (error) {
        res.writeHead(400).end(String(error))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

// --- OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): ids in hex.
interface JsonAnyValue {
  stringValue?: string
  intValue?: string | number
  boolValue?: boolean
  doubleValue?: number
}
interface JsonKeyValue {
  key: string
  value: JsonAnyValue
}
interface JsonRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: JsonKeyValue[] }
    scopeSpans?: Array<{
      spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number; attributes?: JsonKeyValue[] }>
    }>
  }>
}

function jsonAttributes(list: JsonKeyValue[] | undefined): CollectedSpan['attributes'] {
  const out: CollectedSpan['attributes'] = {}
  for (const { key, value } of list ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue
    else if (value.intValue !== undefined) out[key] = Number(value.intValue)
    else if (value.boolValue !== undefined) out[key] = value.boolValue
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue
  }
  return out
}

function decodeJson(request: JsonRequest): CollectedSpan[] {
  const out: CollectedSpan[] = []
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = jsonAttributes(resourceSpans.resource?.attributes)
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        out.push({
          traceId: span.traceId.toLowerCase(),
          spanId: span.spanId.toLowerCase(),
          parentSpanId: (span.parentSpanId ?? '').toLowerCase(),
          name: span.name,
          kind: span.kind ?? 0,
          attributes: jsonAttributes(span.attributes),
          resource,
        })
      }
    }
  }
  return out
}

// --- protobuf wire format: (field number, wire type) tags, varints, length-delimited fields.
type Field = { field: number; wire: 0; value: bigint } | { field: number; wire: 2; value: Buffer } | { field: number; wire: 1 | 5; value: Buffer }

function* fields(buffer: Buffer): Generator<Field> {
  let offset = 0
  const varint = (): bigint => {
    let result = 0n
    let shift = 0n
    for (;;) {
      const byte = buffer[offset++]
      if (byte === undefined) throw new Error('truncated varint')
      result |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return result
      shift += 7n
    }
  }
  while (offset < buffer.length) {
    const tag = Number(varint())
    const field = tag >>> 3
    const wire = tag & 7
    if (wire === 0) yield { field, wire, value: varint() }
    else if (wire === 2) {
      const length = Number(varint())
      yield { field, wire, value: buffer.subarray(offset, offset + length) }
      offset += length
    } else if (wire === 1 || wire === 5) {
      const length = wire === 1 ? 8 : 4
      yield { field, wire, value: buffer.subarray(offset, offset + length) }
      offset += length
    } else throw new Error(`unsupported wire type ${wire}`)
  }
}

const bytesOf = (f: Field) => (f.wire === 2 ? f.value : Buffer.alloc(0))

/** common/v1 KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string 1, bool 2, int 3, double 4 }. */
function protoAttribute(buffer: Buffer): [string, string | number | boolean] {
  let key = ''
  let value: string | number | boolean = ''
  for (const f of fields(buffer)) {
    if (f.field === 1) key = bytesOf(f).toString('utf8')
    else if (f.field === 2) {
      for (const v of fields(bytesOf(f))) {
        if (v.field === 1 && v.wire === 2) value = v.value.toString('utf8')
        else if (v.field === 2 && v.wire === 0) value = v.value !== 0n
        else if (v.field === 3 && v.wire === 0) value = Number(BigInt.asIntN(64, v.value))
        else if (v.field === 4 && v.wire === 1) value = v.value.readDoubleLE(0)
      }
    }
  }
  return [key, value]
}

function decodeProtobuf(body: Buffer): CollectedSpan[] {
  const out: CollectedSpan[] = []
  // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1 }
  for (const rs of fields(body)) {
    if (rs.field !== 1) continue
    const resource: CollectedSpan['attributes'] = {}
    const scopeSpans: Buffer[] = []
    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2 }
    for (const f of fields(bytesOf(rs))) {
      if (f.field === 1) {
        for (const a of fields(bytesOf(f))) if (a.field === 1) {
          const [key, value] = protoAttribute(bytesOf(a))
          resource[key] = value
        }
      } else if (f.field === 2) scopeSpans.push(bytesOf(f))
    }
    for (const ss of scopeSpans) {
      // ScopeSpans { scope = 1; repeated Span spans = 2 }
      for (const s of fields(ss)) {
        if (s.field !== 2) continue
        // Span { trace_id 1; span_id 2; trace_state 3; parent_span_id 4; name 5; kind 6; ...; attributes 9 }
        const span: CollectedSpan = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, attributes: {}, resource }
        for (const f of fields(bytesOf(s))) {
          if (f.field === 1) span.traceId = bytesOf(f).toString('hex')
          else if (f.field === 2) span.spanId = bytesOf(f).toString('hex')
          else if (f.field === 4) span.parentSpanId = bytesOf(f).toString('hex')
          else if (f.field === 5) span.name = bytesOf(f).toString('utf8')
          else if (f.field === 6 && f.wire === 0) span.kind = Number(f.value)
          else if (f.field === 9) {
            const [key, value] = protoAttribute(bytesOf(f))
            span.attributes[key] = value
          }
        }
        out.push(span)
      }
    }
  }
  return out
}
