/**
 * Index and fallback documents, presigned redirects and compression over real HTTP: the
 * proxy on the Node adapter in front of the test S3 (s3rver behind a front that verifies
 * SigV4 signatures, presigned query signatures included).
 */
import http from 'node:http'
import { gunzipSync, gzipSync } from 'node:zlib'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import { createCache, createYatagarasu, silentLogger, type YatagarasuCache, type YatagarasuConfig } from '../../src/index.js'
import { rawRequest, type RawResponse } from '../support/raw-http.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'

const SECRET = 'delivery-test-secret-that-is-long-enough-for-hs256-0123456789'
const PAGE = '<!doctype html><p>' + 'a page worth compressing. '.repeat(400) + '</p>'
const BIG = new Uint8Array(8192).map((_, i) => (i * 7) % 256)
let s3: TestS3
let proxy: NodeServer
let cache: YatagarasuCache

const token = () => new SignJWT({ sub: 'ada' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))
const s3Gets = (key: string) => s3.requests.filter((r) => r.key === key)
const url = (path: string) => `${proxy.url}${path}`

/** A GET whose path goes on the wire exactly as given. */
function rawPath(path: string): Promise<{ status: number }> {
  const { hostname, port } = new URL(proxy.url)
  return new Promise((resolve, reject) => {
    http
      .get({ hostname, port, path, agent: false }, (res) => {
        res.resume()
        res.once('end', () => resolve({ status: res.statusCode ?? 0 }))
      })
      .once('error', reject)
  })
}

/** Asks until the answer is a cache HIT: the cache copy is written in the background. */
async function firstHit(target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const response = await rawRequest(target, { headers })
    if (response.headers['x-cache'] === 'HIT') return response
    if (Date.now() > deadline) throw new Error(`timed out waiting for a HIT for ${target}`)
  }
}

beforeAll(async () => {
  s3 = await startTestS3({ buckets: [{ name: 'site', region: 'eu-west-1' }, { name: 'other', region: 'eu-west-1' }] })
  const s3Of = (bucket: string) => ({
    bucket,
    region: 'eu-west-1',
    endpoint: s3.endpoint,
    accessKey: TEST_CREDENTIALS.accessKeyId,
    secretKey: TEST_CREDENTIALS.secretAccessKey,
  })
  const auth = { enabled: true, jwt: { secret: SECRET, algorithm: 'HS256' as const } }
  const config: YatagarasuConfig = {
    buckets: [
      { name: 'web', pathPrefix: '/web', s3: s3Of('site'), cache: { ttl: 600 }, website: { indexDocument: 'index.html', fallbackDocument: 'index.html' } },
      { name: 'other', pathPrefix: '/other', s3: s3Of('other'), website: { indexDocument: 'index.html' } },
      { name: 'app', pathPrefix: '/app', s3: s3Of('site'), auth, website: { fallbackDocument: 'index.html' } },
      { name: 'dl', pathPrefix: '/dl', s3: s3Of('site'), cache: { ttl: 600 }, redirect: { enabled: true, minSize: '4KB', expiresSeconds: 60 } },
      { name: 'dlall', pathPrefix: '/dlall', s3: s3Of('site'), auth, redirect: { enabled: true } },
      { name: 'gz', pathPrefix: '/gz', s3: s3Of('site'), cache: { ttl: 600 }, compression: { enabled: true, minSize: '1KB', types: ['text/*', 'application/json'] } },
    ],
  }
  cache = createCache()
  proxy = await serve(createYatagarasu(config, { cache, logger: silentLogger }), { port: 0 })
  await Promise.all([
    s3.put('site', 'index.html', '<p>home</p>', { 'Content-Type': 'text/html', 'x-amz-meta-doc': 'home' }),
    s3.put('site', 'docs/index.html', '<p>docs</p>', { 'Content-Type': 'text/html' }),
    s3.put('other', 'index.html', '<p>other</p>', { 'Content-Type': 'text/html' }),
    s3.put('other', 'secret.txt', 'other bucket'),
    s3.put('site', 'big.bin', BIG, { 'Content-Type': 'application/octet-stream' }),
    s3.put('site', 'small.txt', 'small', { 'Content-Type': 'text/plain' }),
    s3.put('site', 'page.html', PAGE, { 'Content-Type': 'text/html; charset=utf-8' }),
    s3.put('site', 'photo.bin', BIG, { 'Content-Type': 'application/octet-stream' }),
    s3.put('site', 'tiny.txt', 'tiny text', { 'Content-Type': 'text/plain' }),
    s3.put('site', 'pre.html.gz', gzipSync(PAGE), { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' }),
  ])
}, 60_000)

afterAll(async () => {
  await proxy?.close()
  await s3?.close()
})

beforeEach(async () => {
  await cache.purge({})
  s3.reset()
})

describe('website: index and fallback documents', () => {
  it('serves the index document for the bucket root and for keys ending in /', async () => {
    for (const path of ['/web', '/web/']) {
      const response = await rawRequest(url(path))
      expect(response.status).toBe(200)
      expect(response.body.toString()).toBe('<p>home</p>')
      expect(response.headers['content-type']).toBe('text/html')
    }
    const docs = await rawRequest(url('/web/docs/'))
    expect(docs.status).toBe(200)
    expect(docs.body.toString()).toBe('<p>docs</p>')
    expect(new Set(s3.requests.map((r) => r.key))).toEqual(new Set(['index.html', 'docs/index.html']))
    expect(s3.requests.every((r) => r.signature === 'valid' && r.rawQuery === '')).toBe(true)
  })

  it('answers a missing key with the fallback document: 200 and its headers, cached under its own key', async () => {
    const first = await rawRequest(url('/web/some/client/route'))
    expect(first.status).toBe(200)
    expect(first.body.toString()).toBe('<p>home</p>')
    expect(first.headers['x-amz-meta-doc']).toBe('home')
    expect(s3Gets('some/client/route')).toHaveLength(1)
    expect(s3Gets('some/client/route')[0]?.status).toBe(404)
    expect(s3Gets('index.html')).toHaveLength(1)
    // The fallback is stored once, under index.html (the cache write lands in the background).
    const hit = await firstHit(url('/web/another/route'))
    expect(hit.status).toBe(200)
    expect(hit.body.toString()).toBe('<p>home</p>')
    expect(s3Gets('index.html')).toHaveLength(1)
    // Each missing key still costs S3 one 404: missing keys are not cached.
    expect(s3Gets('another/route').map((r) => r.status)).toEqual(expect.arrayContaining([404]))
  })

  it('without a fallback, a missing key stays 404, and a directory without index is 404 too', async () => {
    expect((await rawRequest(url('/other/missing'))).status).toBe(404)
    expect((await rawRequest(url('/other/nodir/'))).status).toBe(404)
  })

  it('never leaves the routed bucket: traversal is still 400, the fallback is this bucket\'s', async () => {
    // Sent as written: a URL object would resolve the dots before they leave.
    expect((await rawPath('/web/%2E%2E/other/secret.txt')).status).toBe(400)
    expect((await rawPath('/web/docs/..%2F..%2Fother/')).status).toBe(400)
    const other = await rawRequest(url('/other/'))
    expect(other.body.toString()).toBe('<p>other</p>')
    const fallback = await rawRequest(url('/web/secret.txt'))
    expect(fallback.body.toString()).toBe('<p>home</p>')
    expect(s3.requests.filter((r) => r.bucket === 'other').map((r) => r.key)).toEqual(['index.html'])
  })

  it('authenticates before anything: no token is 401 and nothing reaches S3, with a token the fallback is served', async () => {
    const refused = await rawRequest(url('/app/route'))
    expect(refused.status).toBe(401)
    expect(s3.requests).toHaveLength(0)
    const allowed = await rawRequest(url('/app/route'), { headers: { Authorization: `Bearer ${await token()}` } })
    expect(allowed.status).toBe(200)
    expect(allowed.body.toString()).toBe('<p>home</p>')
  })

  it('HEAD of a missing key answers the fallback headers without a body', async () => {
    const head = await rawRequest(url('/web/route'), { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe('11')
    expect(head.body.length).toBe(0)
  })
})

describe('redirect: 307 to a presigned S3 URL', () => {
  it('redirects objects at or above min_size, with no-store, and the URL works at S3', async () => {
    const response = await rawRequest(url('/dl/big.bin?token=abc&list-type=2'))
    expect(response.status).toBe(307)
    expect(response.headers['cache-control']).toBe('no-store')
    expect(response.headers['x-cache']).toBe('BYPASS')
    const location = new URL(response.headers.location!)
    expect(location.origin).toBe(s3.endpoint)
    expect(location.pathname).toBe('/site/big.bin')
    // The client's query string never reaches the presigned URL.
    expect(location.searchParams.has('token')).toBe(false)
    expect(location.searchParams.has('list-type')).toBe(false)
    expect(location.searchParams.get('X-Amz-Expires')).toBe('60')
    // The size check was one signed HEAD.
    expect(s3.requests.map((r) => [r.method, r.key, r.signature])).toEqual([['HEAD', 'big.bin', 'valid']])

    const followed = await fetch(url('/dl/big.bin'))
    expect(followed.status).toBe(200)
    expect(followed.redirected).toBe(true)
    expect(new Uint8Array(await followed.arrayBuffer())).toEqual(BIG)
    expect(s3.requests.filter((r) => r.presigned)).toMatchObject([{ method: 'GET', key: 'big.bin', signature: 'valid' }])
  })

  it('Range and conditional headers work at S3 after the redirect', async () => {
    const ranged = await fetch(url('/dl/big.bin'), { headers: { Range: 'bytes=10-19' } })
    expect(ranged.status).toBe(206)
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(BIG.slice(10, 20))
    const etag = (await fetch(url('/dl/big.bin'), { method: 'HEAD' })).headers.get('etag')!
    expect(etag).toMatch(/^"/)
    const notModified = await fetch(url('/dl/big.bin'), { headers: { 'If-None-Match': etag } })
    expect(notModified.status).toBe(304)
  })

  it('streams objects below min_size as usual (and caches them); a missing one is 404', async () => {
    const small = await rawRequest(url('/dl/small.txt'))
    expect(small.status).toBe(200)
    expect(small.body.toString()).toBe('small')
    expect((await rawRequest(url('/dl/missing.bin'))).status).toBe(404)
  })

  it('a presigned URL is refused by S3 for another key or with a query added', async () => {
    const location = new URL((await rawRequest(url('/dl/big.bin'))).headers.location!)
    const tampered = new URL(location)
    tampered.pathname = '/site/photo.bin'
    expect((await fetch(tampered)).status).toBe(403)
    const reQueried = new URL(location)
    reQueried.searchParams.set('response-content-type', 'text/html')
    expect((await fetch(reQueried)).status).toBe(403)
  })

  it('without min_size redirects every object, after authentication and with no request to S3', async () => {
    expect((await rawRequest(url('/dlall/small.txt'))).status).toBe(401)
    const response = await rawRequest(url('/dlall/small.txt'), { headers: { Authorization: `Bearer ${await token()}` } })
    expect(response.status).toBe(307)
    expect(s3.requests).toHaveLength(0)
    const followed = await fetch(response.headers.location!)
    expect(await followed.text()).toBe('small')
    const head = await rawRequest(url('/dlall/small.txt'), { method: 'HEAD', headers: { Authorization: `Bearer ${await token()}` } })
    expect(head.status).toBe(307)
    expect((await fetch(head.headers.location!, { method: 'HEAD' })).status).toBe(200)
  })
})

describe('compression', () => {
  it('gzips a compressible object when the client accepts it: no Content-Length, weak ETag, Vary', async () => {
    const response = await rawRequest(url('/gz/page.html'), { headers: { 'Accept-Encoding': 'gzip, deflate' } })
    expect(response.status).toBe(200)
    expect(response.headers['content-encoding']).toBe('gzip')
    expect(response.headers['content-length']).toBeUndefined()
    expect(response.headers.vary).toMatch(/Accept-Encoding/)
    expect(response.headers.etag).toMatch(/^W\/"/)
    expect(gunzipSync(response.body).toString()).toBe(PAGE)
    expect(response.body.length).toBeLessThan(PAGE.length / 10)
  })

  it('caches each encoding apart: a gzip hit and an identity hit from one S3 read each', async () => {
    const gz = { headers: { 'Accept-Encoding': 'gzip' } }
    await rawRequest(url('/gz/page.html'), gz)
    await rawRequest(url('/gz/page.html'))
    expect(s3Gets('page.html')).toHaveLength(2)
    const gzHit = await firstHit(url('/gz/page.html'), gz.headers)
    expect(gzHit.headers['content-encoding']).toBe('gzip')
    expect(gzHit.headers.vary).toMatch(/Accept-Encoding/)
    expect(gunzipSync(gzHit.body).toString()).toBe(PAGE)
    const plainHit = await firstHit(url('/gz/page.html'))
    expect(plainHit.headers['content-encoding']).toBeUndefined()
    expect(plainHit.body.toString()).toBe(PAGE)
    expect(plainHit.headers.vary).toMatch(/Accept-Encoding/)
    expect(s3Gets('page.html')).toHaveLength(2)
  })

  it('leaves alone: ranges, HEAD, small objects, other types, already-encoded objects, q=0', async () => {
    const ae = { 'Accept-Encoding': 'gzip' }
    const ranged = await rawRequest(url('/gz/page.html'), { headers: { ...ae, Range: 'bytes=0-9' } })
    expect(ranged.status).toBe(206)
    expect(ranged.headers['content-encoding']).toBeUndefined()
    expect(ranged.body.toString()).toBe(PAGE.slice(0, 10))
    const head = await rawRequest(url('/gz/page.html'), { method: 'HEAD', headers: ae })
    expect(head.headers['content-encoding']).toBeUndefined()
    expect(head.headers['content-length']).toBe(String(PAGE.length))
    const tiny = await rawRequest(url('/gz/tiny.txt'), { headers: ae })
    expect(tiny.headers['content-encoding']).toBeUndefined()
    expect(tiny.body.toString()).toBe('tiny text')
    const photo = await rawRequest(url('/gz/photo.bin'), { headers: ae })
    expect(photo.headers['content-encoding']).toBeUndefined()
    expect(new Uint8Array(photo.body)).toEqual(BIG)
    const encoded = await rawRequest(url('/gz/pre.html.gz'), { headers: ae })
    expect(encoded.headers['content-encoding']).toBe('gzip')
    expect(Buffer.compare(encoded.body, gzipSync(PAGE))).toBe(0)
    const refused = await rawRequest(url('/gz/page.html'), { headers: { 'Accept-Encoding': 'gzip;q=0, identity' } })
    expect(refused.headers['content-encoding']).toBeUndefined()
    expect(refused.body.toString()).toBe(PAGE)
  })

  it('If-None-Match with the weak ETag of the compressed copy answers 304', async () => {
    const first = await rawRequest(url('/gz/page.html'), { headers: { 'Accept-Encoding': 'gzip' } })
    const etag = first.headers.etag!
    expect(etag).toMatch(/^W\//)
    const again = await rawRequest(url('/gz/page.html'), { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': etag } })
    expect(again.status).toBe(304)
    expect(again.headers.etag).toBe(etag)
  })
})
