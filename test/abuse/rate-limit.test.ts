/**
 * Rate limiting: token buckets per client IP, per JWT subject or global; 429 with an
 * integer `Retry-After` ≥ 1 and nothing sent to S3; per-bucket overrides; bounded
 * memory; and a Redis store shared by several proxy instances that fails open.
 */
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  compose,
  createYatagarasu,
  memoryRateLimitStore,
  rateLimit,
  requestId,
  resolveConfig,
  routing,
  silentLogger,
  type ConfigError,
  type Logger,
  type Middleware,
  type YatagarasuConfig,
} from '../../src/index.js'
import { redisRateLimitStore } from '../../src/stores/redis-rate-limit.js'
import { startRedis, type TestRedis } from '../support/redis-server.js'
import { until } from '../support/wait.js'

const s3 = { bucket: 'b', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' }

function recordingFetch() {
  const urls: string[] = []
  const fetch = async (url: string) => {
    urls.push(url)
    return new Response('ok', { headers: { 'Content-Type': 'text/plain' } })
  }
  return { urls, fetch }
}

function proxy(config: YatagarasuConfig, options: Parameters<typeof createYatagarasu>[1] = {}) {
  const origin = recordingFetch()
  const handler = createYatagarasu(config, { logger: silentLogger, fetch: origin.fetch, ...options })
  const get = (path: string, clientIp?: string) =>
    handler(new Request(`http://proxy.test${path}`), clientIp === undefined ? {} : { clientIp })
  return { get, urls: origin.urls }
}

describe('memory token buckets (unit, fake clock)', () => {
  it('allows a burst, then refills at requestsPerSecond', () => {
    let now = 0
    const store = memoryRateLimitStore({ now: () => now })
    const rule = { requestsPerSecond: 2, burstSize: 3 }
    const results = Array.from({ length: 4 }, () => store.consume('k', rule) as { allowed: boolean; retryAfterMs: number })
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false])
    expect(results[3]!.retryAfterMs).toBeCloseTo(500)
    now += 500
    expect((store.consume('k', rule) as { allowed: boolean }).allowed).toBe(true)
    expect((store.consume('k', rule) as { allowed: boolean }).allowed).toBe(false)
    now += 60_000 // never more than the burst
    const after = Array.from({ length: 4 }, () => (store.consume('k', rule) as { allowed: boolean }).allowed)
    expect(after).toEqual([true, true, true, false])
  })

  it('keeps memory bounded: the least recently used buckets are dropped (and come back full)', () => {
    const store = memoryRateLimitStore({ maxKeys: 2, now: () => 0 })
    const rule = { requestsPerSecond: 1, burstSize: 1 }
    expect((store.consume('a', rule) as { allowed: boolean }).allowed).toBe(true)
    expect((store.consume('a', rule) as { allowed: boolean }).allowed).toBe(false)
    for (const key of ['b', 'c', 'd', 'e', 'f']) store.consume(key, rule)
    expect((store.consume('a', rule) as { allowed: boolean }).allowed).toBe(true)
  })
})

describe('rateLimit middleware', () => {
  const base: YatagarasuConfig = {
    rateLimiting: { enabled: true, requestsPerSecond: 0.5, burstSize: 2, key: 'ip' },
    buckets: [
      { name: 'a', pathPrefix: '/a', s3 },
      { name: 'b', pathPrefix: '/b', s3 },
      { name: 'own', pathPrefix: '/own', s3, rateLimiting: { requestsPerSecond: 0.5, burstSize: 1, key: 'global' } },
      { name: 'free', pathPrefix: '/free', s3, rateLimiting: { enabled: false } },
    ],
  }

  it('refuses with 429, an integer Retry-After ≥ 1, and no S3 request', async () => {
    const { get, urls } = proxy(base)
    expect((await get('/a/x', '10.0.0.1')).status).toBe(200)
    expect((await get('/a/x', '10.0.0.1')).status).toBe(200)
    const refused = await get('/a/x', '10.0.0.1')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/)
    expect(Number(refused.headers.get('retry-after'))).toBe(2) // 1 token at 0.5/s
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('TooManyRequests')
    expect(urls).toHaveLength(2)
  })

  it('counts each client IP separately; an IPv4-mapped address is the same client', async () => {
    const { get } = proxy(base)
    await get('/a/x', '10.0.0.1')
    await get('/a/x', '10.0.0.1')
    expect((await get('/a/x', '::ffff:10.0.0.1')).status).toBe(429)
    expect((await get('/a/x', '10.0.0.2')).status).toBe(200)
    expect((await get('/a/x', '2001:db8::1')).status).toBe(200)
  })

  it('requests without a client IP share one "unknown" bucket', async () => {
    const { get } = proxy(base)
    expect((await get('/a/x')).status).toBe(200)
    expect((await get('/a/x')).status).toBe(200)
    expect((await get('/a/x')).status).toBe(429)
    expect((await get('/a/x', '10.9.9.9')).status).toBe(200)
  })

  it('the top-level limit is shared by the buckets it applies to', async () => {
    const { get } = proxy(base)
    await get('/a/x', '10.0.0.1')
    await get('/b/x', '10.0.0.1')
    expect((await get('/a/x', '10.0.0.1')).status).toBe(429)
    expect((await get('/b/x', '10.0.0.1')).status).toBe(429)
  })

  it("a bucket's own block replaces the top-level one, with its own counters; enabled:false opts out", async () => {
    const { get } = proxy(base)
    expect((await get('/own/x', '10.0.0.1')).status).toBe(200)
    expect((await get('/own/x', '10.0.0.2')).status).toBe(429) // global: everyone shares
    expect((await get('/a/x', '10.0.0.1')).status).toBe(200) // the top-level bucket is untouched
    for (let i = 0; i < 20; i++) expect((await get('/free/x', '10.0.0.1')).status).toBe(200)
  })

  it('is a no-op when nothing configures it', async () => {
    const { get } = proxy({ buckets: [{ name: 'a', pathPrefix: '/a', s3 }] })
    for (let i = 0; i < 50; i++) expect((await get('/a/x', '10.0.0.1')).status).toBe(200)
  })

  it("key 'user' counts per JWT subject, and anonymous requests per IP", async () => {
    const config = resolveConfig({
      buckets: [{ name: 'u', pathPrefix: '/u', s3, rateLimiting: { requestsPerSecond: 0.5, burstSize: 1, key: 'user' } }],
    })
    // A stand-in for jwtAuth: the subject comes from a header.
    const fakeAuth: Middleware = async (ctx, next) => {
      const sub = ctx.request.headers.get('x-test-sub')
      if (sub !== null) ctx.claims = { sub }
      return next()
    }
    const ok: Middleware = async () => new Response('ok')
    const handler = compose(requestId(), routing(config), fakeAuth, rateLimit(config), ok)
    const as = (sub: string | null, clientIp: string) =>
      handler(new Request('http://proxy.test/u/x', { headers: sub === null ? {} : { 'x-test-sub': sub } }), { clientIp })
    expect((await as('alice', '10.0.0.1')).status).toBe(200)
    expect((await as('alice', '10.0.0.2')).status).toBe(429) // same user, other IP
    expect((await as('bob', '10.0.0.1')).status).toBe(200) // other user, same IP
    expect((await as(null, '10.0.0.1')).status).toBe(200) // anonymous: by IP
    expect((await as(null, '10.0.0.1')).status).toBe(429)
  })

  it('runs after routing in the preset: unrouted paths are 404, never 429', async () => {
    const { get } = proxy(base)
    for (let i = 0; i < 5; i++) expect((await get('/nowhere/x', '10.0.0.1')).status).toBe(404)
  })

  it('per-IP limits run before authentication: a flood of bad tokens gets 429 without verifying them', async () => {
    const { get } = proxy({
      buckets: [
        {
          name: 'private',
          pathPrefix: '/p',
          s3,
          auth: { jwt: { secret: 'a-secret-that-is-long-enough-for-hs256-0123456789' } },
          rateLimiting: { requestsPerSecond: 0.1, burstSize: 2, key: 'ip' },
        },
      ],
    })
    expect((await get('/p/x', '10.0.0.1')).status).toBe(401)
    expect((await get('/p/x', '10.0.0.1')).status).toBe(401)
    expect((await get('/p/x', '10.0.0.1')).status).toBe(429)
  })

  it('fails open when the store throws, and logs once', async () => {
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (m) => warnings.push(m) }
    const { get, urls } = proxy(base, {
      logger,
      rateLimitStore: {
        consume() {
          throw new Error('store down')
        },
      },
    })
    for (let i = 0; i < 5; i++) expect((await get('/a/x', '10.0.0.1')).status).toBe(200)
    expect(urls).toHaveLength(5)
    expect(warnings).toEqual(['rate limit store failed; letting requests through'])
  })

  it('validates its config', () => {
    const issues = (config: unknown) => {
      try {
        resolveConfig(config as never)
        return []
      } catch (error) {
        return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)
      }
    }
    expect(issues({ rateLimiting: { enabled: true }, buckets: [{ name: 'a', pathPrefix: '/a', s3 }] })).toEqual([
      'rateLimiting.requestsPerSecond: required',
    ])
    expect(
      issues({ buckets: [{ name: 'a', pathPrefix: '/a', s3, rateLimiting: { requestsPerSecond: 0, burstSize: 0.5, key: 'host' } }] }),
    ).toEqual([
      'buckets[0].rateLimiting.requestsPerSecond: must be a positive number',
      'buckets[0].rateLimiting.burstSize: must be a whole number of at least 1',
      "buckets[0].rateLimiting.key: must be 'ip', 'user' or 'global'",
    ])
    const resolved = resolveConfig({ rateLimiting: { requestsPerSecond: 2.5 }, buckets: [{ name: 'a', pathPrefix: '/a', s3 }] })
    expect(resolved.rateLimiting).toEqual({ requestsPerSecond: 2.5, burstSize: 3, key: 'ip' })
  })
})

describe('Redis store (several instances)', () => {
  let redis: TestRedis
  let client: ReturnType<typeof createClient>
  beforeAll(async () => {
    redis = await startRedis()
    client = createClient({ url: redis.url })
    client.on('error', () => {})
    await client.connect()
  })
  afterAll(async () => {
    if (client?.isOpen) await client.close()
    await redis?.stop()
  })

  // A busy machine can keep 100 concurrent scripts past the default 250 ms, and the store
  // then fails open (let through): these tests count tokens, so the timeout is out of reach.
  // Failing open on a timeout is tested with a Redis that never answers.
  const PATIENT_MS = 60_000

  const limited: YatagarasuConfig = {
    rateLimiting: { requestsPerSecond: 0.2, burstSize: 5, key: 'ip' },
    buckets: [{ name: 'a', pathPrefix: '/a', s3 }],
  }

  it('shares the buckets between two proxy instances', async () => {
    const store = redisRateLimitStore({ client, prefix: `t1:${Date.now()}:`, timeoutMs: PATIENT_MS })
    const one = proxy(limited, { rateLimitStore: store })
    const two = proxy(limited, { rateLimitStore: store })
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await (i % 2 ? one : two).get('/a/x', '10.0.0.1')).status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(5)
    expect(statuses.slice(5)).toEqual([429, 429, 429])
    const refused = await one.get('/a/x', '10.0.0.1')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await one.get('/a/x', '10.0.0.2')).status).toBe(200)
  })

  it('takes tokens atomically under concurrency (exactly the burst passes)', async () => {
    const prefix = `t2:${Date.now()}:`
    const instances = Array.from({ length: 4 }, () => proxy(limited, { rateLimitStore: redisRateLimitStore({ client, prefix, timeoutMs: PATIENT_MS }) }))
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => instances[i % 4]!.get('/a/x', '10.0.0.7')))
    expect(responses.filter((r) => r.status === 200)).toHaveLength(5)
    expect(responses.filter((r) => r.status === 429)).toHaveLength(95)
  })

  it('lets requests through when Redis is down, and logs it (fail open)', async () => {
    const warnings: Array<[string, unknown]> = []
    const logger: Logger = { ...silentLogger, warn: (m, f) => warnings.push([m, f]) }
    const other = await startRedis()
    const doomed = createClient({ url: other.url, socket: { reconnectStrategy: () => 50 } })
    doomed.on('error', () => {})
    await doomed.connect()
    // Counts what the store asks of Redis: while the client is disconnected, nothing.
    let scripts = 0
    const counting = {
      get isReady() {
        return doomed.isReady
      },
      evalSha: (...args: Parameters<typeof doomed.evalSha>) => (scripts++, doomed.evalSha(...args)),
      eval: (...args: Parameters<typeof doomed.eval>) => (scripts++, doomed.eval(...args)),
    }
    const { get, urls } = proxy(limited, { rateLimitStore: redisRateLimitStore({ client: counting, logger, prefix: 't3:' }) })
    expect((await get('/a/x', '10.0.0.1')).status).toBe(200)
    expect(scripts).toBeGreaterThanOrEqual(1)
    await other.stop()
    await until(() => !doomed.isReady, 'the client to notice that Redis is gone')
    const before = scripts
    for (let i = 0; i < 10; i++) expect((await get('/a/x', '10.0.0.1')).status).toBe(200)
    // Never queued behind a reconnect (node-redis would hold such a command until then):
    // refused by the store itself, not by its timeout.
    expect(scripts).toBe(before)
    expect(urls).toHaveLength(11)
    expect(warnings).toEqual([['redis rate limit store unavailable; letting requests through', { reason: 'not connected' }]])
    expect(JSON.stringify(warnings)).not.toContain(other.url)
    doomed.destroy()
  })

  it('fails open on a Redis that hangs (timeout)', async () => {
    const hanging = { isReady: true, evalSha: () => new Promise<never>(() => {}), eval: () => new Promise<never>(() => {}) }
    const store = redisRateLimitStore({ client: hanging, timeoutMs: 50 })
    const decision = await store.consume('k', { requestsPerSecond: 1, burstSize: 1 })
    expect(decision.allowed).toBe(true)
  })
})
