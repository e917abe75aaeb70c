/**
 * OpenTelemetry tracing through @opentelemetry/api, recorded by the SDK's in-memory
 * exporter: one server span per request with the HTTP semantic-convention attributes,
 * its children (JWKS fetch, cache lookup and fill, the S3 request) in one trace, the
 * client's W3C traceparent honoured, and never a query string or a credential in a span.
 */
import { propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace'
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cache, compose, createCache, createYatagarasu, jwtAuth, requestId, resolveConfig, routing, s3Origin, tracing } from '../../src/index.js'
import { backgroundWork, cachedConfig, fakeOrigin, type FakeOrigin } from '../support/cache-origin.js'
import { keyPair, sign, nowSeconds, type KeyPair } from '../support/jwt-fixtures.js'

const JWKS_URL = 'https://issuer.test/.well-known/jwks.json'
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const CLIENT_SPAN = 'b7ad6b7169203331'

const exporter = new InMemorySpanExporter()
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
let pair: KeyPair
let jwksFetches = 0

beforeAll(async () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  pair = await keyPair('RS256')
})
afterAll(() => propagation.disable())
beforeEach(() => {
  exporter.reset()
  jwksFetches = 0
})

const jwksFetch = async () => {
  jwksFetches++
  return new Response(JSON.stringify({ keys: [{ ...pair.jwk, kid: 'k1', alg: 'RS256', use: 'sig' }] }), {
    headers: { 'Content-Type': 'application/jwk-set+json' },
  })
}

/** The cached `/cdn` bucket behind JWKS auth, as its own chain with the JWKS fetch injected. */
function tracedProxy(origin: FakeOrigin) {
  const base = cachedConfig({ enabled: true })
  const config = resolveConfig({
    buckets: [{ ...base.buckets[0]!, auth: { jwt: { jwksUrl: JWKS_URL, algorithms: ['RS256'] } } }],
  })
  return compose(
    requestId(),
    tracing({ tracerProvider: provider }),
    routing(config),
    jwtAuth(config, { fetch: jwksFetch }),
    cache(config, { cache: createCache() }),
    s3Origin(config, { fetch: origin.fetch }),
  )
}

const token = () => sign({ sub: 'alice', exp: nowSeconds() + 600 }, pair.privateKey, 'RS256', { kid: 'k1' })
const hex = (span: ReadableSpan) => span.spanContext().spanId
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId
// SimpleSpanProcessor exports each span asynchronously: flush before looking.
async function finished(): Promise<ReadableSpan[]> {
  await provider.forceFlush()
  return exporter.getFinishedSpans()
}
const named = (name: string) => exporter.getFinishedSpans().filter((span) => span.name === name)

describe('tracing', () => {
  it('a miss: the server span parents the JWKS fetch, the cache lookup and fill, and the S3 request, in the client’s trace', async () => {
    const origin = fakeOrigin()
    origin.put('img/logo.png', { body: 'x'.repeat(1000), headers: { 'content-type': 'image/png' } })
    const handler = tracedProxy(origin)
    const background = backgroundWork()
    const response = await handler(
      new Request('http://proxy.test:8080/cdn/img/logo.png', {
        headers: { Authorization: `Bearer ${await token()}`, traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`, 'User-Agent': 'probe/1' },
      }),
      { ...background.context, clientIp: '203.0.113.9' },
    )
    expect(response.status).toBe(200)
    expect(await response.text()).toHaveLength(1000)
    await background.flush()
    await finished()

    const [server] = named('GET /cdn/*')
    expect(server).toBeDefined()
    expect(server!.kind).toBe(SpanKind.SERVER)
    expect(server!.spanContext().traceId).toBe(TRACE_ID)
    expect(parentOf(server!)).toBe(CLIENT_SPAN)
    expect(server!.attributes).toMatchObject({
      [ATTR_HTTP_REQUEST_METHOD]: 'GET',
      [ATTR_URL_PATH]: '/cdn/img/logo.png',
      [ATTR_URL_SCHEME]: 'http',
      [ATTR_SERVER_ADDRESS]: 'proxy.test',
      [ATTR_HTTP_ROUTE]: '/cdn/*',
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200,
      [ATTR_USER_AGENT_ORIGINAL]: 'probe/1',
      [ATTR_CLIENT_ADDRESS]: '203.0.113.9',
      'yatagarasu.bucket': 'cdn',
      'yatagarasu.cache': 'MISS',
      'http.response.body.size': 1000,
    })

    const children = exporter.getFinishedSpans().filter((span) => span !== server)
    expect(children.map((span) => span.name).sort()).toEqual(['JWKS fetch', 'S3 GetObject', 'cache fill', 'cache lookup'])
    for (const child of children) {
      expect(child.spanContext().traceId).toBe(TRACE_ID)
      expect(parentOf(child)).toBe(hex(server!))
    }
    expect(named('JWKS fetch')[0]!.kind).toBe(SpanKind.CLIENT)
    expect(named('JWKS fetch')[0]!.attributes).toMatchObject({ 'url.full': JWKS_URL, [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200 })
    expect(named('S3 GetObject')[0]!.kind).toBe(SpanKind.CLIENT)
    expect(named('S3 GetObject')[0]!.attributes).toMatchObject({ 'rpc.method': 'GetObject', 'aws.s3.bucket': 'assets', 'aws.s3.key': 'img/logo.png' })
    expect(named('cache lookup')[0]!.attributes).toMatchObject({ 'yatagarasu.cache.hit': false })
    expect(named('cache fill')[0]!.attributes).toMatchObject({ 'yatagarasu.cache.stored': true })
    expect(origin.requests).toHaveLength(1)
  })

  it('a hit: a lookup that hit and no S3 span; without traceparent a new trace', async () => {
    const origin = fakeOrigin()
    origin.put('a.txt', 'hello')
    const handler = tracedProxy(origin)
    const background = backgroundWork()
    const auth = { Authorization: `Bearer ${await token()}` }
    await (await handler(new Request('http://proxy.test/cdn/a.txt', { headers: auth }), background.context)).text()
    await background.flush()
    await finished()
    exporter.reset()

    const response = await handler(new Request('http://proxy.test/cdn/a.txt', { headers: auth }), background.context)
    expect(response.headers.get('x-cache')).toBe('HIT')
    await response.text()
    const spans = await finished()
    expect(spans.map((span) => span.name).sort()).toEqual(['GET /cdn/*', 'cache lookup'])
    const server = named('GET /cdn/*')[0]!
    expect(parentOf(server)).toBeUndefined()
    expect(server.attributes['yatagarasu.cache']).toBe('HIT')
    expect(named('cache lookup')[0]!.attributes['yatagarasu.cache.hit']).toBe(true)
    expect(jwksFetches).toBe(1) // the key set was fetched once, by the first request
  })

  it('never records the query string, the token or a credential', async () => {
    const origin = fakeOrigin()
    origin.put('a.txt', 'hello')
    const handler = tracedProxy(origin)
    const secretToken = await token()
    const response = await handler(
      new Request(`http://proxy.test/cdn/a.txt?X-Amz-Signature=sig-in-query&token=${secretToken}`, {
        headers: { Authorization: `Bearer ${secretToken}` },
      }),
    )
    await response.text()
    const recorded = JSON.stringify((await finished()).map((span) => [span.name, span.attributes, span.status, span.events]))
    expect(exporter.getFinishedSpans().length).toBeGreaterThanOrEqual(3)
    for (const secret of [secretToken, 'sig-in-query', 'token=', 'test-secret', 'AKIDTEST', 'Bearer']) expect(recorded).not.toContain(secret)
  })

  it('the preset handler: a refused request is traced with its status, a failing S3 marks the span failed', async () => {
    const origin = fakeOrigin()
    origin.put('broken', { body: '', status: 500 })
    const handler = createYatagarasu(cachedConfig(null), { fetch: origin.fetch, tracerProvider: provider, logger: silent })

    await (await handler(new Request('http://proxy.test/nowhere'))).text()
    const [unrouted] = await finished()
    expect(unrouted!.name).toBe('GET')
    expect(unrouted!.attributes[ATTR_HTTP_RESPONSE_STATUS_CODE]).toBe(404)
    expect(unrouted!.status.code).toBe(SpanStatusCode.UNSET)
    exporter.reset()

    const response = await handler(new Request('http://proxy.test/cdn/broken'))
    expect(response.status).toBe(502)
    await response.text()
    await finished()
    const server = named('GET /cdn/*')[0]!
    expect(server.status.code).toBe(SpanStatusCode.ERROR)
    expect(server.attributes['error.type']).toBe('502')
    const s3 = named('S3 GetObject')[0]!
    expect(s3.status.code).toBe(SpanStatusCode.ERROR)
    expect(s3.attributes['error.type']).toMatch(/Error$/) // the error's name, never its message
    expect(parentOf(s3)).toBe(hex(server))
  })

  it('without a tracer provider nothing is recorded and requests are served as before', async () => {
    const origin = fakeOrigin()
    origin.put('a.txt', 'hello')
    const handler = createYatagarasu(cachedConfig(null), { fetch: origin.fetch, logger: silent })
    const response = await handler(new Request('http://proxy.test/cdn/a.txt', { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } }))
    expect(await response.text()).toBe('hello')
    expect(await finished()).toEqual([])
  })
})

const silent = { debug() {}, info() {}, warn() {}, error() {} }
