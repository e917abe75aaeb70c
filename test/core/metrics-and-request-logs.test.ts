/**
 * The core's observability: the Prometheus registry and exposition, the metrics and
 * requestLog middlewares inside createYatagarasu (against a stub S3), and the line
 * logger's formats, levels and redaction.
 */
import { describe, expect, it } from 'vitest'
import { createMetrics, createYatagarasu, type Logger, type YatagarasuConfig } from '../../src/index.js'
import { lineLogger } from '../../src/logging/line-logger.js'
import { redactFields } from '../../src/logging/redact.js'
import { createRegistry } from '../../src/metrics/registry.js'
import { parsePrometheusText, valueOf } from '../support/prometheus-text.js'
import { backgroundWork } from '../support/cache-origin.js'

const JWT_SECRET = 'metrics-test-secret-that-is-long-enough!!'
const TOKEN_LIKE = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'

function config(): YatagarasuConfig {
  const s3 = { region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AKIATEST', secretKey: 'test-secret' }
  return {
    buckets: [
      { name: 'cdn', pathPrefix: '/cdn', s3: { ...s3, bucket: 'cdn' }, cache: { enabled: true } },
      { name: 'media', pathPrefix: '/media', s3: { ...s3, bucket: 'media' } },
    ],
  }
}

/** A stub S3: `/<bucket>/missing` is 404, `/<bucket>/broken` 500, anything else 200 with a 1000-byte body. */
async function stubS3(url: string): Promise<Response> {
  const path = new URL(url).pathname
  if (path.endsWith('/missing')) return new Response('<Error/>', { status: 404 })
  if (path.endsWith('/broken')) return new Response('<Error/>', { status: 500 })
  return new Response(new Uint8Array(1000), { status: 200, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '1000', ETag: '"e"' } })
}

function memoryLogger(): Logger & { entries: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const entries: Array<{ level: string; message: string; fields: Record<string, unknown> }> = []
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void entries.push({ level, message, fields })
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

describe('the metrics registry', () => {
  it('renders counters, gauges (set and collected) and histograms in the text format', () => {
    const registry = createRegistry()
    const counter = registry.counter('demo_requests_total', 'Requests.\nSecond line with a \\ backslash.', ['bucket'])
    counter.inc({ bucket: 'a "quoted" \\ name\nwith a line feed' })
    counter.inc({ bucket: 'b' }, 2)
    registry.gauge('demo_in_flight', 'In flight.').set({}, 3)
    registry.gauge('demo_bytes', 'Bytes.', ['bucket'], () => [[{ bucket: 'b' }, 42]])
    const histogram = registry.histogram('demo_seconds', 'Latency.', ['bucket'], [0.1, 1, 0.01])
    for (const value of [0.005, 0.05, 0.5, 5]) histogram.observe({ bucket: 'b' }, value)

    const text = registry.render()
    const families = parsePrometheusText(text)
    expect([...families.keys()]).toEqual(['demo_requests_total', 'demo_in_flight', 'demo_bytes', 'demo_seconds'])
    expect(families.get('demo_requests_total')!.type).toBe('counter')
    expect(families.get('demo_requests_total')!.samples[0]!.labels.bucket).toBe('a "quoted" \\ name\nwith a line feed')
    expect(valueOf(families, 'demo_bytes', { bucket: 'b' })).toBe(42)
    expect(families.get('demo_seconds')!.samples.filter((s) => s.name === 'demo_seconds_bucket').map((s) => [s.labels.le, s.value])).toEqual([
      ['0.01', 1],
      ['0.1', 2],
      ['1', 3],
      ['+Inf', 4],
    ])
    expect(valueOf(families, 'demo_seconds_count', { bucket: 'b' })).toBe(4)
  })

  it('refuses bad names, reserved labels, a second registration and negative increments', () => {
    const registry = createRegistry()
    expect(() => registry.counter('bad-name', 'x')).toThrow(TypeError)
    expect(() => registry.counter('ok_total', 'x', ['__reserved'])).toThrow(TypeError)
    expect(() => registry.histogram('h', 'x', ['le'], [1])).toThrow(TypeError)
    const counter = registry.counter('ok_total', 'x')
    expect(() => registry.gauge('ok_total', 'x')).toThrow(TypeError)
    expect(() => counter.inc({}, -1)).toThrow(RangeError)
  })
})

describe('createYatagarasu(config, { metrics, requestLog })', () => {
  it('counts requests by bucket, method and status, cache results, S3 calls, bytes and streams', async () => {
    const metrics = createMetrics()
    const handler = createYatagarasu(config(), { fetch: stubS3, metrics, logger: memoryLogger() })
    const work = backgroundWork() // the cache writes, awaited before the next request
    const get = async (path: string, init?: RequestInit) => {
      const response = await handler(new Request(`http://proxy.test${path}`, init), work.context)
      await response.arrayBuffer()
      await work.flush()
      return response.status
    }
    expect(await get('/cdn/a.bin')).toBe(200) // miss, stored
    expect(await get('/cdn/a.bin')).toBe(200) // hit
    expect(await get('/media/v.bin')).toBe(200) // bypass (no cache)
    expect(await get('/media/missing')).toBe(404)
    expect(await get('/media/broken')).toBe(502)
    expect(await get('/nowhere/x')).toBe(404)
    expect(await get('/cdn/a.bin', { method: 'DELETE' })).toBe(405)
    expect(await get('/cdn/a.bin', { method: 'BREW' })).toBe(405)

    const families = parsePrometheusText(metrics.render())
    const requests = (labels: Record<string, string>) => valueOf(families, 'yatagarasu_http_requests_total', labels)
    expect(requests({ bucket: 'cdn', method: 'GET', status: '200' })).toBe(2)
    expect(requests({ bucket: 'media', method: 'GET', status: '404' })).toBe(1)
    expect(requests({ bucket: 'media', method: 'GET', status: '502' })).toBe(1)
    expect(requests({ bucket: '', method: 'GET', status: '404' })).toBe(1)
    expect(requests({ bucket: 'cdn', method: 'OTHER', status: '405' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_cache_hits_total', { bucket: 'cdn' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_cache_misses_total', { bucket: 'cdn' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_cache_bypasses_total', { bucket: 'media' })).toBe(3)
    expect(valueOf(families, 'yatagarasu_s3_requests_total', { bucket: 'cdn', status: '200' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_s3_requests_total', { bucket: 'media', status: '502' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_s3_errors_total', { bucket: 'media', reason: 'failed' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_s3_request_duration_seconds_count', { bucket: 'media' })).toBe(3)
    // Two 1000-byte objects, plus the JSON bodies of the two 405s.
    expect(valueOf(families, 'yatagarasu_http_response_bytes_total', { bucket: 'cdn' })).toBeGreaterThan(2000)
    expect(valueOf(families, 'yatagarasu_http_response_bytes_total', { bucket: 'cdn' })).toBeLessThan(2600)
    expect(valueOf(families, 'yatagarasu_http_streams_in_flight', { bucket: 'cdn' })).toBe(0)
    expect(valueOf(families, 'yatagarasu_http_requests_in_flight')).toBe(0)
  })

  it('counts a stream in flight until its body ends or is cancelled', async () => {
    const metrics = createMetrics()
    const handler = createYatagarasu(config(), { fetch: stubS3, metrics, logger: memoryLogger() })
    const response = await handler(new Request('http://proxy.test/media/v.bin'))
    const streams = () => valueOf(parsePrometheusText(metrics.render()), 'yatagarasu_http_streams_in_flight', { bucket: 'media' })
    expect(streams()).toBe(1)
    await response.body!.cancel()
    expect(streams()).toBe(0)
  })

  it('reads cache store stats at scrape time and counts reported evictions', () => {
    const metrics = createMetrics()
    metrics.observeCacheStore('cdn', { size: 1234, entries: 5, evictions: 2 })
    metrics.recordCacheEvictions('cdn', 3)
    const families = parsePrometheusText(metrics.render())
    expect(valueOf(families, 'yatagarasu_cache_bytes', { bucket: 'cdn' })).toBe(1234)
    expect(valueOf(families, 'yatagarasu_cache_entries', { bucket: 'cdn' })).toBe(5)
    expect(valueOf(families, 'yatagarasu_cache_evictions_total', { bucket: 'cdn' })).toBe(5)
  })

  it('logs one entry per request when the body has ended, without query strings or tokens', async () => {
    const logger = memoryLogger()
    const metrics = createMetrics()
    const s3 = config().buckets[0]!.s3
    const handler = createYatagarasu(
      {
        buckets: [
          { name: 'private', pathPrefix: '/private', s3, auth: { jwt: { secret: JWT_SECRET, tokenSources: [{ type: 'query', name: 'token' }] } } },
          { name: 'cdn', pathPrefix: '/cdn', s3 },
        ],
      },
      { fetch: stubS3, metrics, requestLog: logger, logger: memoryLogger() },
    )
    const response = await handler(
      new Request(`http://proxy.test/cdn/dir/a%20b.bin?token=${TOKEN_LIKE}&X-Amz-Signature=abc`, {
        headers: { Authorization: `Bearer ${TOKEN_LIKE}`, 'X-Request-ID': 'req-1', 'User-Agent': 'curl/8.5.0' },
      }),
      { clientIp: '192.0.2.7' },
    )
    expect(logger.entries).toEqual([]) // not before the body ended
    await response.arrayBuffer()
    await (await handler(new Request(`http://proxy.test/private/x?token=${TOKEN_LIKE}`))).arrayBuffer()

    expect(logger.entries).toHaveLength(2)
    expect(logger.entries[0]).toEqual({
      level: 'info',
      message: 'request',
      fields: {
        requestId: 'req-1',
        method: 'GET',
        path: '/cdn/dir/a%20b.bin',
        bucket: 'cdn',
        key: 'dir/a b.bin',
        status: 200,
        bytes: 1000,
        durationMs: expect.any(Number),
        s3Ms: expect.any(Number),
        cache: 'BYPASS',
        clientIp: '192.0.2.7',
        userAgent: 'curl/8.5.0',
        outcome: 'completed',
      },
    })
    expect(logger.entries[1]!.fields).toMatchObject({ path: '/private/x', bucket: 'private', status: 401 })
    expect(logger.entries[1]!.fields).not.toHaveProperty('userAgent')
    const everything = JSON.stringify(logger.entries) + metrics.render()
    expect(everything).not.toContain(TOKEN_LIKE)
    expect(everything).not.toContain('X-Amz-Signature')
    expect(everything).not.toContain('?')
  })

  it('logs the raw path and user agent of requests that matched no bucket or were refused before routing', async () => {
    const logger = memoryLogger()
    const handler = createYatagarasu(config(), { fetch: stubS3, requestLog: logger, logger: memoryLogger() })
    const headers = { 'User-Agent': 'scanner/1.0' }
    await (await handler(new Request(`http://proxy.test/nowhere/file.txt?token=${TOKEN_LIKE}`, { headers }))).arrayBuffer()
    // What the client sent, not what URL parsing made of it (that would point at the cdn bucket).
    const raw = '/media/..\\cdn\\secret.txt'
    await (await handler(new Request('http://proxy.test/cdn/secret.txt?sig=abc', { headers }), { rawPath: `${raw}?sig=abc` })).arrayBuffer()

    expect(logger.entries.map((entry) => entry.fields)).toEqual([
      expect.objectContaining({ path: '/nowhere/file.txt', status: 404, userAgent: 'scanner/1.0' }),
      expect.objectContaining({ path: raw, status: 400, userAgent: 'scanner/1.0' }),
    ])
    for (const { fields } of logger.entries) {
      expect(fields).not.toHaveProperty('bucket')
      expect(fields).not.toHaveProperty('key')
    }
    const everything = JSON.stringify(logger.entries)
    expect(everything).not.toContain(TOKEN_LIKE)
    expect(everything).not.toContain('sig=')
  })

  it('clips a long path and user agent', async () => {
    const logger = memoryLogger()
    const handler = createYatagarasu(config(), { fetch: stubS3, requestLog: logger, logger: memoryLogger() })
    const long = 'a'.repeat(5000)
    await (await handler(new Request(`http://proxy.test/nowhere/${long}`, { headers: { 'User-Agent': long } }))).arrayBuffer()
    const { path, userAgent } = logger.entries[0]!.fields as { path: string; userAgent: string }
    expect(path.length).toBeLessThanOrEqual(1025)
    expect(path.startsWith('/nowhere/aaa')).toBe(true)
    expect(userAgent.length).toBeLessThanOrEqual(1025)
  })
})

describe('lineLogger', () => {
  const at = () => new Date('2026-01-02T03:04:05.678Z')

  it('writes one JSON object per line, time, level and message first', () => {
    const lines: string[] = []
    const logger = lineLogger({ write: (line) => lines.push(line), now: at })
    logger.info('request', { bucket: 'cdn', status: 200, level: 'spoofed' })
    logger.debug('hidden at info')
    expect(lines).toEqual(['{"time":"2026-01-02T03:04:05.678Z","level":"info","message":"request","bucket":"cdn","status":200}'])
  })

  it('writes text lines whose values cannot break the line or fake a field', () => {
    const lines: string[] = []
    const logger = lineLogger({ format: 'text', level: 'debug', write: (line) => lines.push(line), now: at })
    logger.debug('request', { key: 'a b\nstatus=500', bucket: 'cdn', n: 3 })
    expect(lines).toEqual(['2026-01-02T03:04:05.678Z DEBUG request key="a b\\nstatus=500" bucket=cdn n=3'])
  })

  it('filters by level (trace is debug)', () => {
    const lines: string[] = []
    const logger = lineLogger({ level: 'warn', write: (line) => lines.push(line) })
    logger.info('no')
    logger.warn('yes')
    logger.error('yes')
    expect(lines).toHaveLength(2)
    const all: string[] = []
    lineLogger({ level: 'trace', write: (line) => all.push(line) }).debug('yes')
    expect(all).toHaveLength(1)
  })

  it('redacts credentials by field name, JWTs anywhere, and URL query strings and user info', () => {
    expect(
      redactFields({
        authorization: 'Bearer abc',
        Cookie: 'a=b',
        access_token: 'x',
        secretKey: 'y',
        nested: { password: 'p', note: `token ${TOKEN_LIKE} here` },
        url: 'https://user:pass@example.com/path?X-Amz-Signature=abc#frag',
        list: [TOKEN_LIKE],
        bucket: 'cdn',
      }),
    ).toEqual({
      authorization: '[REDACTED]',
      Cookie: '[REDACTED]',
      access_token: '[REDACTED]',
      secretKey: '[REDACTED]',
      nested: { password: '[REDACTED]', note: 'token [REDACTED] here' },
      url: 'https://example.com/path?[REDACTED]#frag',
      list: ['[REDACTED]'],
      bucket: 'cdn',
    })
  })
})
