/**
 * stale_while_revalidate and stale_if_error over HTTP, in front of the test S3 (s3rver
 * behind a SigV4 verifier): the background revalidation is a signed conditional GET that
 * S3 answers 304 with no body, a changed object replaces the entry, and with S3 gone the
 * stale entry answers. Time moves by the cache's injected clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import { createCache, createYatagarasu, type FetchHandler } from '../../src/index.js'
import { backgroundWork, testClock } from '../support/cache-origin.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'

let s3: TestS3
let proxy: NodeServer
let closed = false
const clock = testClock(Date.now())
const work = backgroundWork()
const getsOf = (key: string) => s3.requests.filter((r) => r.key === key && r.method === 'GET')

beforeAll(async () => {
  s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'eu-west-1' }] })
  const handler: FetchHandler = createYatagarasu(
    {
      buckets: [
        {
          name: 'cdn',
          pathPrefix: '/cdn',
          s3: { bucket: 'assets', region: 'eu-west-1', endpoint: s3.endpoint, accessKey: TEST_CREDENTIALS.accessKeyId, secretKey: TEST_CREDENTIALS.secretAccessKey },
          cache: { ttl: 60, staleWhileRevalidate: 30, staleIfError: 600 },
        },
      ],
    },
    { cache: createCache({ now: clock.now }) },
  )
  // The adapter's context, plus a waitUntil the test can await (the background revalidation).
  proxy = await serve((request, context) => handler(request, { ...(context as object), waitUntil: work.context.waitUntil }), { port: 0 })
  await s3.put('assets', 'page.html', '<p>one</p>', { 'Content-Type': 'text/html' })
}, 60_000)

afterAll(async () => {
  await proxy?.close()
  if (!closed) await s3?.close()
})

async function get(path: string) {
  const response = await fetch(`${proxy.url}${path}`)
  return { status: response.status, cache: response.headers.get('x-cache'), etag: response.headers.get('etag'), body: await response.text() }
}

describe('stale entries in front of the test S3', () => {
  it('revalidates with a signed If-None-Match (304, nothing downloaded), replaces on change, serves stale when S3 is gone', async () => {
    const miss = await get('/cdn/page.html')
    expect(miss).toMatchObject({ status: 200, cache: 'MISS', body: '<p>one</p>' })
    await work.flush()
    const etag = miss.etag
    expect(etag).toMatch(/^"/)

    clock.advance(61_000)
    expect(await get('/cdn/page.html')).toMatchObject({ status: 200, cache: 'STALE', body: '<p>one</p>' })
    await work.flush()
    const revalidation = getsOf('page.html')[1]!
    expect(revalidation.headers['if-none-match']).toBe(etag)
    expect(revalidation.signature).toBe('valid')
    expect(revalidation.status).toBe(304)
    expect((await revalidation.done).bytesSent).toBe(0)
    expect(await get('/cdn/page.html')).toMatchObject({ cache: 'HIT', body: '<p>one</p>' })

    await s3.put('assets', 'page.html', '<p>two</p>', { 'Content-Type': 'text/html' })
    clock.advance(61_000)
    expect(await get('/cdn/page.html')).toMatchObject({ cache: 'STALE', body: '<p>one</p>' })
    await work.flush()
    expect(getsOf('page.html')[2]!.status).toBe(200)
    expect(await get('/cdn/page.html')).toMatchObject({ cache: 'HIT', body: '<p>two</p>' })
    expect(getsOf('page.html')).toHaveLength(3)

    // S3 gone: past the revalidation window but within stale_if_error, the entry answers.
    await s3.close()
    closed = true
    clock.advance(60_000 + 120_000)
    expect(await get('/cdn/page.html')).toMatchObject({ status: 200, cache: 'STALE', body: '<p>two</p>' })
    clock.advance(600_000)
    expect((await get('/cdn/page.html')).status).toBe(502)
  })
})
