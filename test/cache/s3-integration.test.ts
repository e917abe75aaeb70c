/**
 * The cache over real HTTP: the proxy served by the Node adapter in front of the test
 * S3 (s3rver behind a SigV4 verifier). Single-flight, tee under a slow S3, a client
 * that leaves mid-download, and hits that match what S3 sent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import { createCache, createYatagarasu, type YatagarasuCache } from '../../src/index.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import { until } from '../support/wait.js'

const SLOW_SIZE = 512 * 1024
let s3: TestS3
let proxy: NodeServer
let cache: YatagarasuCache

const slowBytes = new Uint8Array(SLOW_SIZE).map((_, i) => (i * 13) % 256)
const requestsFor = (key: string) => s3.requests.filter((r) => r.key === key && r.method === 'GET')
/** Waits for the cache write that follows a response (it happens in the server's waitUntil). */
const untilCached = (entries: number) =>
  until(() => cache.stats().buckets.find((b) => b.bucket === 'cdn')?.layers[0]?.entries === entries, `${entries} cached object(s)`)

beforeAll(async () => {
  s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'eu-west-1' }] })
  cache = createCache()
  const handler = createYatagarasu(
    {
      buckets: [
        {
          name: 'cdn',
          pathPrefix: '/cdn',
          s3: {
            bucket: 'assets',
            region: 'eu-west-1',
            endpoint: s3.endpoint,
            accessKey: TEST_CREDENTIALS.accessKeyId,
            secretKey: TEST_CREDENTIALS.secretAccessKey,
          },
          cache: { ttl: 600, maxSize: '64MB', maxItemSize: '1MB' },
        },
      ],
    },
    { cache },
  )
  proxy = await serve(handler, { port: 0 })
  await Promise.all([
    s3.put('assets', 'logo.svg', '<svg>logo</svg>', {
      'Content-Type': 'image/svg+xml',
      'Cache-Control': 'public, max-age=300',
      'x-amz-meta-team': 'design',
    }),
    s3.put('assets', 'slow.bin', slowBytes, { 'Content-Type': 'application/octet-stream' }),
    s3.put('assets', 'abandoned.bin', slowBytes),
  ])
  s3.throttle('assets', 'slow.bin', { chunkSize: 32 * 1024, intervalMs: 15 })
  s3.throttle('assets', 'abandoned.bin', { chunkSize: 16 * 1024, intervalMs: 20 })
}, 60_000)

afterAll(async () => {
  await proxy?.close()
  await s3?.close()
})

beforeEach(async () => {
  await cache.purge({ bucket: 'cdn' })
  s3.reset()
})

describe('cache over HTTP, in front of the test S3', () => {
  it('100 concurrent first requests for one small object reach S3 once', async () => {
    const responses = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const response = await fetch(`${proxy.url}/cdn/logo.svg`)
        return { status: response.status, cache: response.headers.get('x-cache'), body: await response.text() }
      }),
    )
    expect(responses.every((r) => r.status === 200 && r.body === '<svg>logo</svg>')).toBe(true)
    expect(responses.filter((r) => r.cache === 'MISS')).toHaveLength(1)
    expect(requestsFor('logo.svg')).toHaveLength(1)
    expect(requestsFor('logo.svg')[0]?.signature).toBe('valid')
  })

  it('a hit carries what S3 sent: status, body and object headers', async () => {
    const miss = await fetch(`${proxy.url}/cdn/logo.svg`)
    const missBody = await miss.text()
    await untilCached(1)
    const hit = await fetch(`${proxy.url}/cdn/logo.svg`)
    expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT'])
    expect(await hit.text()).toBe(missBody)
    for (const name of ['content-type', 'content-length', 'etag', 'last-modified', 'cache-control', 'x-amz-meta-team', 'accept-ranges']) {
      expect([name, hit.headers.get(name)]).toEqual([name, miss.headers.get(name)])
    }
    const head = await fetch(`${proxy.url}/cdn/logo.svg`, { method: 'HEAD' })
    expect([head.status, head.headers.get('x-cache'), head.headers.get('content-length')]).toEqual([200, 'HIT', '15'])
    // fetch() with a validator and the default cache mode adds `Cache-Control: no-cache`
    // (Fetch standard, HTTP-network-or-cache fetch), which bypasses; 'no-cache' mode sends max-age=0.
    const notModified = await fetch(`${proxy.url}/cdn/logo.svg`, { headers: { 'If-None-Match': miss.headers.get('etag')! }, cache: 'no-cache' })
    expect([notModified.status, notModified.headers.get('x-cache')]).toEqual([304, 'HIT'])
    expect(requestsFor('logo.svg')).toHaveLength(1)
  })

  it('slow S3: the first byte reaches the client long before the object is complete, and it is stored at the end', async () => {
    const response = await fetch(`${proxy.url}/cdn/slow.bin`)
    expect(response.headers.get('x-cache')).toBe('MISS')
    const reader = response.body!.getReader()
    const first = await reader.read()
    expect(first.value!.byteLength).toBeGreaterThan(0)
    // When the client has its first bytes, S3 has sent only a small part of the object.
    expect(requestsFor('slow.bin')[0]!.bytesSent).toBeLessThan(SLOW_SIZE / 2)
    let received = first.value!.byteLength
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      received += value.byteLength
    }
    expect(received).toBe(SLOW_SIZE)
    expect((await requestsFor('slow.bin')[0]!.done).completed).toBe(true)
    await untilCached(1)
    const hit = await fetch(`${proxy.url}/cdn/slow.bin`)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(Buffer.from(await hit.arrayBuffer()).equals(Buffer.from(slowBytes))).toBe(true)
    expect(requestsFor('slow.bin')).toHaveLength(1)
  })

  it('a client that leaves mid-download cancels the S3 transfer, and nothing is stored', async () => {
    const controller = new AbortController()
    const response = await fetch(`${proxy.url}/cdn/abandoned.bin`, { signal: controller.signal })
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    const transfer = await requestsFor('abandoned.bin')[0]!.done
    expect(transfer.completed).toBe(false)
    expect(transfer.bytesSent).toBeLessThan(SLOW_SIZE)
    const again = await fetch(`${proxy.url}/cdn/abandoned.bin`)
    expect(again.headers.get('x-cache')).toBe('MISS')
    await again.body!.cancel()
    expect(requestsFor('abandoned.bin')).toHaveLength(2)
  })
})
