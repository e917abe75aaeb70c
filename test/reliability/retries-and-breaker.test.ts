/**
 * Retries (GET/HEAD, before any byte reached the client; connection errors, 5xx and
 * timeouts, never 4xx; capped jittered backoff; a retry budget) and the circuit
 * breaker per S3 target (open → 503 + Retry-After without an S3 request, one probe
 * at a time when half-open). Unit tests with a fake clock, then against a
 * fault-injecting origin over real HTTP, counting what reached "S3".
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import { createYatagarasu, silentLogger, type BucketConfig, type FetchHandler, type Logger } from '../../src/index.js'
import { backoffDelay } from '../../src/reliability/backoff.js'
import { createCircuitBreaker } from '../../src/reliability/circuit-breaker.js'
import { createRetryBudget } from '../../src/reliability/retry-budget.js'
import { startFaultyOrigin, type FaultyOrigin } from '../support/faulty-origin.js'
import { rawRequest } from '../support/raw-http.js'
import { until } from '../support/wait.js'

describe('circuit breaker (unit, fake clock)', () => {
  function breaker() {
    let now = 0
    const changes: string[] = []
    const b = createCircuitBreaker({
      failureThreshold: 3,
      successThreshold: 2,
      timeoutMs: 10_000,
      now: () => now,
      onStateChange: (s) => changes.push(s),
    })
    return { b, changes, advance: (ms: number) => (now += ms) }
  }
  const permit = (value: ReturnType<ReturnType<typeof createCircuitBreaker>['acquire']>) => {
    if (typeof value === 'number') throw new Error(`refused for ${value} ms`)
    return value
  }

  it('opens after failureThreshold consecutive failures; a success resets the count', () => {
    const { b, changes } = breaker()
    b.onFailure(permit(b.acquire()))
    b.onFailure(permit(b.acquire()))
    b.onSuccess(permit(b.acquire()))
    b.onFailure(permit(b.acquire()))
    b.onFailure(permit(b.acquire()))
    expect(b.state).toBe('closed')
    b.onFailure(permit(b.acquire()))
    expect(b.state).toBe('open')
    expect(changes).toEqual(['open'])
    expect(b.acquire()).toBe(10_000)
  })

  it('refuses while open and tells how long until half-open', () => {
    const { b, advance } = breaker()
    for (let i = 0; i < 3; i++) b.onFailure(permit(b.acquire()))
    advance(4000)
    expect(b.acquire()).toBe(6000)
    advance(6000)
    expect(b.state).toBe('half-open')
  })

  it('lets one probe at a time through when half-open; successThreshold probes close it', () => {
    const { b, advance, changes } = breaker()
    for (let i = 0; i < 3; i++) b.onFailure(permit(b.acquire()))
    advance(10_000)
    const probe = permit(b.acquire())
    expect(probe.probe).toBe(true)
    expect(typeof b.acquire()).toBe('number') // a second request while the probe is out
    b.onSuccess(probe)
    expect(b.state).toBe('half-open')
    b.onSuccess(permit(b.acquire()))
    expect(b.state).toBe('closed')
    expect(changes).toEqual(['open', 'closed'])
  })

  it('a failed probe opens the circuit again for a full timeout', () => {
    const { b, advance } = breaker()
    for (let i = 0; i < 3; i++) b.onFailure(permit(b.acquire()))
    advance(10_000)
    b.onFailure(permit(b.acquire()))
    expect(b.state).toBe('open')
    expect(b.acquire()).toBe(10_000)
  })

  it('a released probe (client went away) frees the slot without a verdict', () => {
    const { b, advance } = breaker()
    for (let i = 0; i < 3; i++) b.onFailure(permit(b.acquire()))
    advance(10_000)
    b.release(permit(b.acquire()))
    expect(permit(b.acquire()).probe).toBe(true)
  })

  it('late failures of requests sent before the circuit opened change nothing', () => {
    const { b, advance } = breaker()
    const early = permit(b.acquire())
    for (let i = 0; i < 3; i++) b.onFailure(permit(b.acquire()))
    advance(10_000)
    const probe = permit(b.acquire())
    b.onFailure(early)
    expect(b.state).toBe('half-open')
    b.onSuccess(probe)
    b.onSuccess(permit(b.acquire()))
    expect(b.state).toBe('closed')
  })
})

describe('retry budget and backoff (unit)', () => {
  it('allows retries of about 20% of requests, plus a small steady allowance', () => {
    let now = 0
    const budget = createRetryBudget({ now: () => now })
    let retries = 0
    for (let i = 0; i < 10; i++) if (budget.tryWithdraw()) retries++
    expect(retries).toBe(10) // the initial reserve
    expect(budget.tryWithdraw()).toBe(false)
    for (let i = 0; i < 100; i++) {
      budget.deposit()
      if (budget.tryWithdraw()) retries++
    }
    expect(retries).toBe(10 + 20)
    now += 3000 // 1 token per second whatever the traffic
    let refilled = 0
    while (budget.tryWithdraw()) refilled++
    expect(refilled).toBe(3)
  })

  it('backs off exponentially, capped, with full jitter', () => {
    expect(backoffDelay(0, { random: () => 0.999 })).toBeCloseTo(99.9)
    expect(backoffDelay(1, { random: () => 0.999 })).toBeCloseTo(199.8)
    expect(backoffDelay(10, { random: () => 0.999 })).toBeCloseTo(999)
    expect(backoffDelay(3, { random: () => 0 })).toBe(0)
    expect(backoffDelay(2, { baseMs: 10, maxMs: 25, random: () => 1 })).toBe(25)
  })
})

describe('retries against a faulty origin', () => {
  let origin: FaultyOrigin
  let proxy: NodeServer
  let handler: FetchHandler
  const bucket = (name: string, s3: Partial<BucketConfig['s3']>): BucketConfig => ({
    name,
    pathPrefix: `/${name}`,
    s3: { bucket: 'bucket', region: 'us-east-1', endpoint: origin.endpoint, accessKey: 'AK', secretKey: 'SK', ...s3 } as BucketConfig['s3'],
  })

  beforeAll(async () => {
    origin = await startFaultyOrigin()
    handler = createYatagarasu(
      {
        buckets: [
          bucket('none', {}),
          bucket('two', { retries: 2, timeout: 0.3 }),
          bucket('many', { retries: 3 }),
        ],
      },
      { logger: silentLogger },
    )
    proxy = await serve(handler)
  })
  afterAll(async () => {
    await proxy?.close()
    await origin?.close()
  })
  beforeEach(() => origin.reset())
  afterEach(() => void vi.restoreAllMocks())

  it('defaults to no retries: one S3 request, 502', async () => {
    origin.queue({ kind: 'status', status: 500 })
    const response = await rawRequest(`${proxy.url}/none/a.txt`)
    expect(response.status).toBe(502)
    expect(origin.requests).toHaveLength(1)
  })

  it.each([500, 503])('retries a %d burst and serves the object', async (status) => {
    origin.queue({ kind: 'status', status }, { kind: 'status', status })
    const response = await rawRequest(`${proxy.url}/two/a.txt`)
    expect(response.status).toBe(200)
    expect(response.body.toString()).toBe('hello')
    expect(origin.requests).toHaveLength(3)
    expect(response.body.toString()).not.toContain('ORIGINREQUESTID')
  })

  it('gives up after `retries` extra attempts with a 502', async () => {
    origin.setDefault({ kind: 'status', status: 503 })
    const response = await rawRequest(`${proxy.url}/two/a.txt`)
    expect(response.status).toBe(502)
    expect(origin.requests).toHaveLength(3)
  })

  it('retries HEAD too', async () => {
    origin.queue({ kind: 'status', status: 500 })
    const response = await rawRequest(`${proxy.url}/two/a.txt`, { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(origin.requests.map((r) => r.method)).toEqual(['HEAD', 'HEAD'])
  })

  it('retries a timeout (504 only when every attempt timed out)', async () => {
    origin.queue({ kind: 'hang' })
    expect((await rawRequest(`${proxy.url}/two/a.txt`)).status).toBe(200)
    expect(origin.requests).toHaveLength(2)
    origin.reset()
    origin.setDefault({ kind: 'hang' })
    expect((await rawRequest(`${proxy.url}/two/a.txt`)).status).toBe(504)
    expect(origin.requests).toHaveLength(3)
  })

  it('retries a connection dropped before the headers', async () => {
    origin.queue({ kind: 'drop' })
    expect((await rawRequest(`${proxy.url}/two/a.txt`)).status).toBe(200)
    expect(origin.requests).toHaveLength(2)
  })

  it.each([404, 403, 412])('never retries a %d', async (status) => {
    origin.setDefault({ kind: 'status', status })
    await rawRequest(`${proxy.url}/two/a.txt`)
    expect(origin.requests).toHaveLength(1)
  })

  it('never retries once the body has started (a mid-body reset aborts the client)', async () => {
    origin.queue({ kind: 'reset', body: 'x'.repeat(100_000), afterBytes: 1000 })
    const response = await rawRequest(`${proxy.url}/two/a.txt`)
    expect(response.status).toBe(200)
    expect(response.aborted).toBe(true)
    expect(origin.requests).toHaveLength(1)
  })

  it('stops retrying when the client goes away during an attempt', async () => {
    let answer!: () => void
    origin.setDefault({ kind: 'status', status: 500, heldUntil: new Promise<void>((resolve) => (answer = resolve)) })
    const controller = new AbortController()
    const pending = handler(new Request(`http://proxy.test/many/a.txt`, { signal: controller.signal }))
    await until(() => origin.requests.length === 1, 'the first attempt')
    controller.abort()
    const response = await pending
    expect(response.status).toBe(499)
    // The attempt under way was hung up on, and none followed it: the pool gave up
    // before answering 499, so anything after would come from no one.
    expect(await origin.requests[0]!.done).toEqual({ completed: false, bytesSent: 0 })
    expect(origin.requests).toHaveLength(1)
    answer()
  })

  it('stops retrying when the client goes away during the backoff', async () => {
    // The longest first backoff (~100 ms); the client leaves once the first attempt failed.
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    origin.setDefault({ kind: 'status', status: 500 })
    const controller = new AbortController()
    const pending = handler(new Request(`http://proxy.test/many/a.txt`, { signal: controller.signal }))
    await until(() => origin.requests.length === 1, 'the first attempt')
    await origin.requests[0]!.done
    controller.abort()
    const response = await pending
    expect(response.status).toBe(499)
    // In backoff (or, on a slow machine, already in the second attempt, then hung up on).
    expect(origin.requests.length).toBeLessThanOrEqual(2)
    if (origin.requests.length === 2) expect((await origin.requests[1]!.done).completed).toBe(false)
  })

  it('the retry budget keeps a failing S3 from being hammered', async () => {
    origin.setDefault({ kind: 'status', status: 500 })
    const requests = 200
    const responses = await Promise.all(
      Array.from({ length: requests }, (_, i) => handler(new Request(`http://proxy.test/many/k${i}`))),
    )
    expect(responses.every((r) => r.status === 502)).toBe(true)
    // Without a budget: 200 × (1 + 3) = 800. With it: 200 first attempts, plus the
    // reserve of 10, 20% of 200 and ~1/s of refill.
    expect(origin.requests.length).toBeLessThanOrEqual(requests + 10 + 40 + 10)
    expect(origin.requests.length).toBeGreaterThan(requests)
  })
})

describe('circuit breaker against a faulty origin', () => {
  let origin: FaultyOrigin
  let handler: FetchHandler
  const logged: string[] = []
  const logger: Logger = { ...silentLogger, warn: (m) => logged.push(`warn:${m}`), info: (m) => logged.push(`info:${m}`) }

  beforeAll(async () => {
    origin = await startFaultyOrigin()
  })
  afterAll(async () => origin?.close())
  // The breakers' clock is performance.now(): faked alone (timers and sockets stay
  // real), the cooldown passes when the test moves it, not by waiting it out.
  afterEach(() => void vi.useRealTimers())
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] })
    origin.reset()
    logged.length = 0
    handler = createYatagarasu(
      {
        buckets: [
          {
            name: 'b',
            pathPrefix: '/b',
            s3: {
              bucket: 'bucket',
              region: 'us-east-1',
              endpoint: origin.endpoint,
              accessKey: 'AK',
              secretKey: 'SK',
              timeout: 1,
              circuitBreaker: { failureThreshold: 3, successThreshold: 2, timeoutSeconds: 0.5 },
            },
          },
        ],
      },
      { logger },
    )
  })
  const get = (key = 'a.txt') => handler(new Request(`http://proxy.test/b/${key}`))

  it('opens after failureThreshold failures: 503 with Retry-After, no S3 request', async () => {
    origin.setDefault({ kind: 'status', status: 500 })
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(502)
    expect(origin.requests).toHaveLength(3)
    const open = await get()
    expect(open.status).toBe(503)
    expect(open.headers.get('retry-after')).toBe('1')
    expect(((await open.json()) as { error: { code: string } }).error.code).toBe('ServiceUnavailable')
    expect(origin.requests).toHaveLength(3)
    expect(logged).toEqual(['warn:S3 circuit opened'])
  })

  it('4xx answers are successes: they never open the circuit', async () => {
    origin.setDefault({ kind: 'status', status: 404 })
    for (let i = 0; i < 6; i++) expect((await get()).status).toBe(404)
    expect(origin.requests).toHaveLength(6)
  })

  it('half-open after the cooldown: one probe at a time, then closed after successThreshold successes', async () => {
    origin.setDefault({ kind: 'status', status: 500 })
    for (let i = 0; i < 3; i++) await get()
    expect((await get()).status).toBe(503)
    vi.advanceTimersByTime(500) // the cooldown (timeoutSeconds 0.5) on the breaker's clock
    let answerProbe!: () => void
    origin.setDefault({ kind: 'ok', body: 'back', heldUntil: new Promise<void>((resolve) => (answerProbe = resolve)) })
    const pendingProbe = get('p1')
    await until(() => origin.requests.some((r) => r.url.endsWith('/p1')), 'the probe to reach S3')
    const concurrent = await get('p2')
    answerProbe()
    const probe = await pendingProbe
    expect(probe.status).toBe(200)
    expect(concurrent.status).toBe(503) // refused while the probe was out
    expect(origin.requests.filter((r) => r.url.endsWith('/p2'))).toHaveLength(0)
    expect((await get('p3')).status).toBe(200) // second successful probe closes it
    const afterClose = await Promise.all([get('c1'), get('c2'), get('c3')])
    expect(afterClose.map((r) => r.status)).toEqual([200, 200, 200])
    expect(logged).toEqual(['warn:S3 circuit opened', 'info:S3 circuit closed'])
  })

  it('a failed probe reopens the circuit', async () => {
    origin.setDefault({ kind: 'status', status: 500 })
    for (let i = 0; i < 3; i++) await get()
    vi.advanceTimersByTime(499)
    expect((await get()).status).toBe(503) // not yet
    vi.advanceTimersByTime(1)
    expect((await get()).status).toBe(502) // the probe
    expect(origin.requests).toHaveLength(4)
    expect((await get()).status).toBe(503)
    expect(origin.requests).toHaveLength(4)
  })

  it('timeouts count as failures', async () => {
    origin.setDefault({ kind: 'hang' })
    handler = createYatagarasu(
      {
        buckets: [
          {
            name: 'b',
            pathPrefix: '/b',
            s3: {
              bucket: 'bucket', region: 'us-east-1', endpoint: origin.endpoint, accessKey: 'AK', secretKey: 'SK',
              timeout: 0.1,
              circuitBreaker: { failureThreshold: 2, timeoutSeconds: 30 },
            },
          },
        ],
      },
      { logger },
    )
    expect((await get()).status).toBe(504)
    expect((await get()).status).toBe(504)
    const open = await get()
    expect(open.status).toBe(503)
    expect(Number(open.headers.get('retry-after'))).toBeGreaterThanOrEqual(29)
  })
})
