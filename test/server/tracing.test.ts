/**
 * The standalone server with `tracing.enabled`: the built CLI exports its spans as OTLP
 * over HTTP to a collector written here, which decodes what arrives on the wire, as
 * protobuf (`http/protobuf`, the default) and as JSON (`http/json`), configured only by
 * the standard OTEL_* variables. The client's traceparent is continued, the server span
 * parents the cache and S3 spans, and the service name comes from the config.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, runCli, startCliServer, tempDir, type CliServer } from '../support/cli.js'
import { startOtlpCollector, type CollectedSpan, type OtlpCollector } from '../support/otlp-collector.js'
import { S3_FROM_ENV, s3Env } from '../support/server-suite.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import { until } from '../support/wait.js'

let s3: TestS3
let files: ReturnType<typeof tempDir>
const running: Array<{ server?: CliServer; collector: OtlpCollector }> = []

// OTLP span kinds (trace.proto SpanKind).
const SERVER = 2
const CLIENT = 3

function config(tracing: string): string {
  return `logging:
  format: json
${tracing}
buckets:
  - name: public
    path_prefix: /public
${S3_FROM_ENV}    cache:
      enabled: true
`
}


beforeAll(async () => {
  assertBuilt()
  files = tempDir()
  s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }] })
  await s3.put('assets', 'hello.txt', 'hello world', { 'Content-Type': 'text/plain' })
})

afterEach(async () => {
  await Promise.all(running.splice(0).map(async ({ server, collector }) => {
    await server?.kill()
    await collector.close()
  }))
})

afterAll(async () => {
  await s3?.close()
  files?.cleanup()
})

const randomHex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')

describe.each([
  { protocol: 'http/protobuf', contentType: 'application/x-protobuf' },
  { protocol: 'http/json', contentType: 'application/json' },
])('tracing exported as OTLP $protocol', ({ protocol, contentType }) => {
  it('continues the client’s trace: server span, cache and S3 children, service name from the config', async () => {
    const collector = await startOtlpCollector()
    const entry: { server?: CliServer; collector: OtlpCollector } = { collector }
    running.push(entry)
    const path = files.write(`tracing-${protocol.replace('/', '-')}.yaml`, config('tracing:\n  enabled: true\n  service_name: edge-proxy'))
    const server = await startCliServer(path, {
      ...s3Env(s3),
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    })
    entry.server = server
    expect(server.logs.find((line) => line.message === 'tracing enabled')).toMatchObject({ protocol, serviceName: 'edge-proxy' })

    const traceId = randomHex(16)
    const clientSpan = randomHex(8)
    const response = await fetch(`${server.url}/public/hello.txt?sig=do-not-record`, { headers: { traceparent: `00-${traceId}-${clientSpan}-01` } })
    expect(await response.text()).toBe('hello world')

    const inTrace = () => collector.spans.filter((span) => span.traceId === traceId)
    await until(() => inTrace().some((span) => span.kind === SERVER) && inTrace().some((span) => span.name === 'cache fill'), 'the exported spans')
    expect(new Set(collector.contentTypes)).toEqual(new Set([contentType]))

    const spans = inTrace()
    const server_ = spans.find((span) => span.kind === SERVER)!
    expect(server_.name).toBe('GET /public/*')
    expect(server_.parentSpanId).toBe(clientSpan)
    expect(server_.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/public/hello.txt',
      'http.route': '/public/*',
      'http.response.status_code': 200,
      'yatagarasu.bucket': 'public',
      'yatagarasu.cache': 'MISS',
    })
    expect(server_.resource['service.name']).toBe('edge-proxy')
    const byName = (name: string): CollectedSpan => spans.find((span) => span.name === name)!
    for (const name of ['cache lookup', 'cache fill', 'S3 GetObject']) {
      expect(byName(name), name).toBeDefined()
      expect(byName(name).parentSpanId).toBe(server_.spanId)
    }
    expect(byName('S3 GetObject').kind).toBe(CLIENT)
    expect(byName('S3 GetObject').attributes).toMatchObject({ 'aws.s3.bucket': 'assets', 'aws.s3.key': 'hello.txt', 'http.response.status_code': 200 })
    expect(JSON.stringify(collector.spans)).not.toContain('do-not-record')
    expect(JSON.stringify(collector.spans)).not.toContain(TEST_CREDENTIALS.secretAccessKey)

    // A request without traceparent starts a trace of its own.
    await (await fetch(`${server.url}/public/hello.txt`)).text()
    await until(() => collector.spans.some((span) => span.kind === SERVER && span.traceId !== traceId), 'a second trace')
    const second = collector.spans.find((span) => span.kind === SERVER && span.traceId !== traceId)!
    expect(second.parentSpanId).toBe('')
    expect(second.attributes['yatagarasu.cache']).toBe('HIT')
  })
})

describe('tracing settings', () => {
  it('without tracing.enabled nothing is exported; an unsupported protocol stops the start', async () => {
    const collector = await startOtlpCollector()
    const entry: { server?: CliServer; collector: OtlpCollector } = { collector }
    running.push(entry)
    const env = { ...s3Env(s3), OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' }
    const server = await startCliServer(files.write('tracing-off.yaml', config('tracing:\n  enabled: false')), env)
    entry.server = server
    const traceparent = `00-${randomHex(16)}-${randomHex(8)}-01`
    expect(await (await fetch(`${server.url}/public/hello.txt`, { headers: { traceparent } })).text()).toBe('hello world')
    // The proof is the shutdown: the server exits cleanly and has sent nothing by then.
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(collector.contentTypes).toEqual([])
    expect(server.logs.some((line) => line.message === 'tracing enabled')).toBe(false)

    const bad = await runCli(['serve', '--config', files.write('tracing-grpc.yaml', config('tracing:\n  enabled: true')), '--port', '0'], {
      ...env,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL "grpc" is not supported/)
  })

  it('spans still buffered at SIGTERM are exported before the process exits', async () => {
    const collector = await startOtlpCollector()
    const entry: { server?: CliServer; collector: OtlpCollector } = { collector }
    running.push(entry)
    // A schedule far beyond the test: only the shutdown's flush can send them.
    const env = { ...s3Env(s3), OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_BSP_SCHEDULE_DELAY: '600000' }
    const server = await startCliServer(files.write('tracing-flush.yaml', config('tracing:\n  enabled: true')), env)
    entry.server = server
    await (await fetch(`${server.url}/public/hello.txt`)).text()
    expect(collector.spans).toEqual([])
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(collector.spans.some((span) => span.kind === SERVER && span.resource['service.name'] === 'yatagarasu')).toBe(true)
  })
})
