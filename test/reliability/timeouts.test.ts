/**
 * Timeouts against real HTTP origins: a slow first byte is a 504 before any header;
 * a body that stalls (or a connection reset) after the headers aborts the client's
 * transfer — never a clean-looking truncated 200 — and cancels the S3 side; a slow
 * but steady body, or a slow client, is not a stall.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import { nodeFetch } from '../../src/s3/transports/node-http.js'
import { createYatagarasu, GatewayTimeoutError, silentLogger, type YatagarasuConfig } from '../../src/index.js'
import { startFaultyOrigin, type FaultyOrigin } from '../support/faulty-origin.js'
import { rawRequest } from '../support/raw-http.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import { nextTurn } from '../support/wait.js'

const BODY = 'x'.repeat(64 * 1024)

let origin: FaultyOrigin
let proxy: NodeServer
let config: YatagarasuConfig

beforeAll(async () => {
  origin = await startFaultyOrigin()
  const s3 = { bucket: 'bucket', region: 'us-east-1', endpoint: origin.endpoint, accessKey: 'AK', secretKey: 'SK' }
  config = {
    buckets: [
      // The body tests: S3's first byte may take long on a busy machine; a stall is for ever.
      { name: 'b', pathPrefix: '/b', s3: { ...s3, timeout: 30, idleTimeout: 0.3 } },
      // A body in timed pieces: gaps far inside the idle timeout, however busy the machine.
      { name: 'steady', pathPrefix: '/steady', s3: { ...s3, timeout: 30, idleTimeout: 10 } },
      // The first-byte tests: headers that are held or never come.
      { name: 'first', pathPrefix: '/first', s3: { ...s3, timeout: 0.3 } },
    ],
  }
  proxy = await serve(createYatagarasu(config, { logger: silentLogger }))
})

afterAll(async () => {
  await proxy?.close()
  await origin?.close()
})

beforeEach(() => origin.reset())

describe('first-byte timeout (s3.timeout)', () => {
  it('answers 504 when S3 sends no headers in time, after one S3 request', async () => {
    // S3's headers are held until after the answer: only the timeout can produce it.
    let sendHeaders!: () => void
    origin.queue({ kind: 'ok', body: 'late', heldUntil: new Promise<void>((resolve) => (sendHeaders = resolve)) })
    const response = await rawRequest(`${proxy.url}/first/slow.txt`)
    expect(response.status).toBe(504)
    expect(JSON.parse(response.body.toString()).error.code).toBe('GatewayTimeout')
    expect(origin.requests).toHaveLength(1)
    expect(await origin.requests[0]!.done).toEqual({ completed: false, bytesSent: 0 }) // the S3 request was cancelled
    sendHeaders() // too late: the connection is gone
  })

  it('a hanging S3 is a 504 too', async () => {
    origin.queue({ kind: 'hang' })
    expect((await rawRequest(`${proxy.url}/first/hang.txt`)).status).toBe(504)
  })
})

describe('idle timeout between body chunks (s3.idleTimeout)', () => {
  it('aborts the client transfer when S3 stalls mid-body, and hangs up on S3', async () => {
    origin.queue({ kind: 'stall', body: BODY, afterBytes: 1000 })
    const response = await rawRequest(`${proxy.url}/b/stall.bin`)
    expect(response.status).toBe(200) // the headers were already sent
    expect(response.headers['content-length']).toBe(String(BODY.length))
    expect(response.complete).toBe(false)
    expect(response.aborted).toBe(true)
    // Everything S3 sent before it stalled reached the client before the abort: the
    // transfer was cut by the stall, not at its start.
    expect(response.body.toString()).toBe(BODY.slice(0, 1000))
    expect((await origin.requests[0]!.done).completed).toBe(false)
    expect(origin.requests).toHaveLength(1) // a started stream is never retried or switched
  })

  it('aborts the client transfer when S3 resets the connection mid-body', async () => {
    origin.queue({ kind: 'reset', body: BODY, afterBytes: 1000 })
    const response = await rawRequest(`${proxy.url}/b/reset.bin`)
    expect(response.status).toBe(200)
    expect(response.complete).toBe(false)
    expect(response.aborted).toBe(true)
  })

  it('errors the body stream (so a cache teeing it stores nothing), not a clean end', async () => {
    const handler = createYatagarasu(config, { logger: silentLogger, fetch: nodeFetch })
    origin.queue({ kind: 'stall', body: BODY, afterBytes: 100 })
    const response = await handler(new Request('http://proxy.test/b/stall.bin'))
    expect(response.status).toBe(200)
    const [toClient, toCache] = response.body!.tee()
    const cacheRead = new Response(toCache).arrayBuffer()
    const error = await new Response(toClient).arrayBuffer().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayTimeoutError)
    await expect(cacheRead).rejects.toBeInstanceOf(GatewayTimeoutError)
  })

  it('a stalled body is never cached: the next request goes to S3 again', async () => {
    const cached = createYatagarasu(
      { buckets: [{ ...config.buckets[0]!, cache: { enabled: true, ttl: 60, maxSize: '10MB', maxItemSize: '1MB' } }] },
      { logger: silentLogger, fetch: nodeFetch },
    )
    // The cache writes in waitUntil: awaiting that work is awaiting the write (or its refusal).
    const background: Promise<unknown>[] = []
    const context = { waitUntil: (work: Promise<unknown>) => void background.push(work) }
    const settled = () => Promise.allSettled(background.splice(0))
    origin.queue({ kind: 'stall', body: BODY, afterBytes: 1000 })
    const first = await cached(new Request('http://proxy.test/b/cacheable.bin'), context)
    expect(first.headers.get('x-cache')).toBe('MISS')
    await expect(first.arrayBuffer()).rejects.toBeInstanceOf(GatewayTimeoutError)
    await settled()
    const second = await cached(new Request('http://proxy.test/b/cacheable.bin'), context)
    expect(second.headers.get('x-cache')).toBe('MISS')
    expect(await second.text()).toBe('hello')
    expect(origin.requests).toHaveLength(2)
    await settled()
    const third = await cached(new Request('http://proxy.test/b/cacheable.bin'), context)
    expect(third.headers.get('x-cache')).toBe('HIT')
    expect(origin.requests).toHaveLength(2)
  })

  // Where a chunk falls against the idle timeout exactly is shown on a fake clock
  // (idle-timeout.test.ts); here, over real sockets, that a body sent in timed pieces
  // passes the watchdog whole.
  it('lets a slow but steady body through (each chunk within the idle timeout)', async () => {
    origin.queue({ kind: 'ok', body: BODY, chunkSize: 8 * 1024, intervalMs: 50 }) // 8 chunks, 0.4 s in all
    const response = await rawRequest(`${proxy.url}/steady/steady.bin`)
    expect(response.status).toBe(200)
    expect(response.complete).toBe(true)
    expect(response.body.toString()).toBe(BODY)
  })

  it('does not count a slow client as a stall: S3 is only timed while a chunk is awaited', async () => {
    const handler = createYatagarasu(config, { logger: silentLogger, fetch: nodeFetch })
    origin.queue({ kind: 'ok', body: BODY, chunkSize: 16 * 1024 })
    const response = await handler(new Request('http://proxy.test/b/slow-reader.bin'))
    // The watchdog's clock (its timer and performance.now()) is the test's from here: the
    // client's pauses are fake time, S3's bytes still come over a real socket.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    try {
      const reader = response.body!.getReader()
      let received = 0
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        received += value.byteLength
        await nextTurn(5) // a read running ahead gets its bytes first: only the client's pause follows
        await vi.advanceTimersByTimeAsync(400) // longer than idleTimeout between reads
      }
      expect(received).toBe(BODY.length)
    } finally {
      vi.useRealTimers()
    }
  })

  it('keeps client cancel → S3 cancel working through the watchdog', async () => {
    const handler = createYatagarasu(config, { logger: silentLogger, fetch: nodeFetch })
    origin.queue({ kind: 'ok', body: 'y'.repeat(4 * 1024 * 1024), chunkSize: 64 * 1024, intervalMs: 20 })
    const response = await handler(new Request('http://proxy.test/b/cancel.bin'))
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    const done = await origin.requests[0]!.done
    expect(done.completed).toBe(false)
    expect(done.bytesSent).toBeLessThan(4 * 1024 * 1024)
  })

  it('a client that disconnects mid-stream cancels S3 at once (through the Node adapter)', async () => {
    origin.queue({ kind: 'ok', body: 'z'.repeat(4 * 1024 * 1024), chunkSize: 64 * 1024, intervalMs: 20 })
    await new Promise<void>((resolve, reject) => {
      import('node:http').then(({ default: http }) => {
        const req = http.get(`${proxy.url}/b/leave.bin`, { agent: false }, (res) => {
          res.once('data', () => {
            req.destroy()
            resolve()
          })
        })
        req.on('error', () => {})
        req.on('timeout', reject)
      }, reject)
    })
    const done = await origin.requests[0]!.done
    expect(done.completed).toBe(false)
  })
})

describe('idle timeout against the verifying test S3', () => {
  let s3: TestS3
  let server: NodeServer
  beforeAll(async () => {
    s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }] })
    const s3Config = {
      bucket: 'assets',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      accessKey: TEST_CREDENTIALS.accessKeyId,
      secretKey: TEST_CREDENTIALS.secretAccessKey,
    }
    server = await serve(
      createYatagarasu(
        {
          buckets: [
            { name: 'strict', pathPrefix: '/strict', s3: { ...s3Config, idleTimeout: 0.1 } },
            { name: 'patient', pathPrefix: '/patient', s3: { ...s3Config, idleTimeout: 2 } },
          ],
        },
        { logger: silentLogger },
      ),
    )
    await s3.put('assets', 'drip.bin', BODY)
    s3.throttle('assets', 'drip.bin', { chunkSize: 8 * 1024, intervalMs: 300 })
  })
  afterAll(async () => {
    await server?.close()
    await s3?.close()
  })

  it('aborts a body that drips slower than the idle timeout', async () => {
    s3.reset()
    const response = await rawRequest(`${server.url}/strict/drip.bin`)
    expect(response.status).toBe(200)
    expect(response.aborted).toBe(true)
    expect(s3.requests).toHaveLength(1)
    expect((await s3.requests[0]!.done).completed).toBe(false)
  })

  it('serves the same body whole with a longer idle timeout', async () => {
    const response = await rawRequest(`${server.url}/patient/drip.bin`)
    expect(response.status).toBe(200)
    expect(response.complete).toBe(true)
    expect(response.body.toString()).toBe(BODY)
  })
})
