/**
 * The seed's cache decision logic through the handler: what is a HIT, a MISS or a
 * BYPASS, and what is stored. S3 is a fake origin injected as `fetch`.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import {
  cache,
  compose,
  createCache,
  createYatagarasu,
  readOnly,
  requestId,
  routing,
  s3Origin,
  type FetchHandler,
  type Middleware,
  type YatagarasuConfig,
} from '../../src/index.js'
import { cacheKey } from '../../src/cache/keys.js'
import { backgroundWork, cachedConfig, fakeOrigin, type FakeOrigin } from '../support/cache-origin.js'

const OBJECT_HEADERS = {
  'Content-Type': 'text/plain; charset=utf-8',
  ETag: '"abc123"',
  'Last-Modified': 'Wed, 01 Jan 2025 00:00:00 GMT',
  'Cache-Control': 'max-age=60',
  'Content-Disposition': 'inline; filename="hello.txt"',
  'Content-Encoding': 'identity',
  'Content-Language': 'en',
  Expires: 'Thu, 01 Jan 2026 00:00:00 GMT',
  'x-amz-meta-author': 'ada',
  'x-amz-request-id': 'S3-SPECIFIC',
}

let origin: FakeOrigin
let handler: FetchHandler
let work: ReturnType<typeof backgroundWork>

function setup(config: YatagarasuConfig = cachedConfig()) {
  handler = createYatagarasu(config, { fetch: origin.fetch })
}

async function get(path: string, init?: RequestInit): Promise<Response> {
  const response = await handler(new Request(`http://proxy.test${path}`, init), work.context)
  await work.flush()
  return response
}

async function read(path: string, init?: RequestInit): Promise<{ response: Response; body: string }> {
  const response = await get(path, init)
  const body = await response.text()
  await work.flush()
  return { response, body }
}

const s3Count = (key: string) => origin.requests.filter((r) => r.key === key).length

beforeEach(() => {
  origin = fakeOrigin()
  origin.put('hello.txt', { body: 'hello world', headers: OBJECT_HEADERS })
  work = backgroundWork()
  setup()
})

describe('a cacheable object', () => {
  it('is a MISS first, then a HIT served without S3, with the same body and object headers', async () => {
    const first = await read('/cdn/hello.txt')
    expect(first.response.status).toBe(200)
    expect(first.response.headers.get('x-cache')).toBe('MISS')
    expect(first.body).toBe('hello world')

    const second = await read('/cdn/hello.txt')
    expect(second.response.status).toBe(200)
    expect(second.response.headers.get('x-cache')).toBe('HIT')
    expect(second.body).toBe('hello world')
    expect(s3Count('hello.txt')).toBe(1)

    const headers = second.response.headers
    expect(headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(headers.get('content-length')).toBe('11')
    expect(headers.get('etag')).toBe('"abc123"')
    expect(headers.get('last-modified')).toBe('Wed, 01 Jan 2025 00:00:00 GMT')
    expect(headers.get('cache-control')).toBe('max-age=60')
    expect(headers.get('content-disposition')).toBe('inline; filename="hello.txt"')
    expect(headers.get('content-encoding')).toBe('identity')
    expect(headers.get('content-language')).toBe('en')
    expect(headers.get('expires')).toBe('Thu, 01 Jan 2026 00:00:00 GMT')
    expect(headers.get('x-amz-meta-author')).toBe('ada')
    expect(headers.get('accept-ranges')).toBe('bytes')
    expect(headers.get('age')).toMatch(/^\d+$/)
    expect(headers.get('x-request-id')).toBeTruthy()
    expect(headers.has('x-amz-request-id')).toBe(false)
  })

  it('answers HEAD from the cache: headers and length, no body', async () => {
    await read('/cdn/hello.txt')
    const response = await get('/cdn/hello.txt', { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-cache')).toBe('HIT')
    expect(response.headers.get('content-length')).toBe('11')
    expect(response.headers.get('etag')).toBe('"abc123"')
    expect(response.body).toBeNull()
    expect(s3Count('hello.txt')).toBe(1)
  })

  it('does not store a HEAD response: HEAD on a cold cache is a MISS sent to S3 as HEAD', async () => {
    const head = await get('/cdn/hello.txt', { method: 'HEAD' })
    expect(head.headers.get('x-cache')).toBe('MISS')
    expect(origin.requests[0]?.method).toBe('HEAD')
    const next = await read('/cdn/hello.txt')
    expect(next.response.headers.get('x-cache')).toBe('MISS')
    expect(next.body).toBe('hello world')
  })

  it('keys on bucket name + S3 key, unambiguously', async () => {
    expect(cacheKey('a/b', 'c')).not.toBe(cacheKey('a', 'b/c'))
    const config: YatagarasuConfig = {
      buckets: [
        { ...cachedConfig().buckets[0]!, name: 'one', pathPrefix: '/one', cache: {} },
        { ...cachedConfig().buckets[0]!, name: 'two', pathPrefix: '/two', s3: { ...cachedConfig().buckets[0]!.s3, bucket: 'other' }, cache: {} },
      ],
    }
    origin.put('same.txt', 'from assets')
    origin.put('same.txt', 'from other', 'other')
    setup(config)
    expect((await read('/one/same.txt')).body).toBe('from assets')
    expect((await read('/two/same.txt')).body).toBe('from other')
    const one = await read('/one/same.txt')
    const two = await read('/two/same.txt')
    expect([one.body, one.response.headers.get('x-cache')]).toEqual(['from assets', 'HIT'])
    expect([two.body, two.response.headers.get('x-cache')]).toEqual(['from other', 'HIT'])
  })

  it('sets ctx.cacheStatus for the middlewares around it', async () => {
    const seen: Array<string | undefined> = []
    const config = cachedConfig()
    const spy: Middleware = async function spy(ctx, next) {
      const response = await next()
      seen.push(ctx.cacheStatus)
      return response
    }
    const custom = compose(requestId(), routing(config), readOnly(), spy, cache(config, { cache: createCache() }), s3Origin(config, { fetch: origin.fetch }))
    await (await custom(new Request('http://proxy.test/cdn/hello.txt'), work.context)).text()
    await work.flush()
    await (await custom(new Request('http://proxy.test/cdn/hello.txt'))).text()
    await (await custom(new Request('http://proxy.test/cdn/hello.txt', { headers: { Range: 'bytes=0-1' } }))).text()
    expect(seen).toEqual(['MISS', 'HIT', 'BYPASS'])
  })
})

describe('never served from the cache, never stored', () => {
  it('Range requests bypass, even when the object is cached, and go to S3 with their Range', async () => {
    const ranged = await read('/cdn/hello.txt', { headers: { Range: 'bytes=0-4' } })
    expect(ranged.response.status).toBe(206)
    expect(ranged.response.headers.get('x-cache')).toBe('BYPASS')
    expect(ranged.body).toBe('hello')
    // not stored: the next full GET still goes to S3
    expect((await read('/cdn/hello.txt')).response.headers.get('x-cache')).toBe('MISS')
    // now cached, but a Range is still never served from the cache
    const again = await read('/cdn/hello.txt', { headers: { Range: 'bytes=6-' } })
    expect([again.response.status, again.response.headers.get('x-cache'), again.body]).toEqual([206, 'BYPASS', 'world'])
    expect(origin.requests.at(-1)?.headers.get('range')).toBe('bytes=6-')
  })

  it('If-Range bypasses', async () => {
    await read('/cdn/hello.txt')
    const response = await get('/cdn/hello.txt', { headers: { 'If-Range': '"abc123"' } })
    expect(response.headers.get('x-cache')).toBe('BYPASS')
    expect(origin.requests.at(-1)?.headers.get('if-range')).toBe('"abc123"')
  })

  it.each([
    ['Cache-Control', 'no-cache'],
    ['Cache-Control', 'max-age=0, No-Cache'],
    ['Cache-Control', 'no-store'],
    ['Pragma', 'no-cache'],
  ])('a request with %s: %s bypasses the cache and stores nothing', async (name, value) => {
    const bypass = await read('/cdn/hello.txt', { headers: { [name]: value } })
    expect(bypass.response.headers.get('x-cache')).toBe('BYPASS')
    expect(bypass.body).toBe('hello world')
    expect((await read('/cdn/hello.txt')).response.headers.get('x-cache')).toBe('MISS')
    const again = await read('/cdn/hello.txt', { headers: { [name]: value } })
    expect(again.response.headers.get('x-cache')).toBe('BYPASS')
    expect(s3Count('hello.txt')).toBe(3)
  })

  it('an ordinary reload (Cache-Control: max-age=0) is still served from the cache', async () => {
    await read('/cdn/hello.txt')
    const reload = await read('/cdn/hello.txt', { headers: { 'Cache-Control': 'max-age=0' } })
    expect(reload.response.headers.get('x-cache')).toBe('HIT')
  })

  it.each([['If-Match', '"abc123"'], ['If-Unmodified-Since', 'Wed, 01 Jan 2025 00:00:00 GMT']])(
    '%s goes to S3 (a precondition only S3 can decide)',
    async (name, value) => {
      await read('/cdn/hello.txt')
      const response = await get('/cdn/hello.txt', { headers: { [name]: value } })
      expect(response.headers.get('x-cache')).toBe('BYPASS')
      expect(origin.requests.at(-1)?.headers.get(name)).toBe(value)
      expect(s3Count('hello.txt')).toBe(2)
    },
  )

  it.each(['no-store', 'private', 'private, max-age=60', 'no-cache', 'max-age=0, no-store'])(
    'S3 answering Cache-Control: %s is not stored',
    async (cacheControl) => {
      origin.put('secret.txt', { body: 'secret', headers: { 'Cache-Control': cacheControl } })
      const first = await read('/cdn/secret.txt')
      expect([first.response.headers.get('x-cache'), first.body]).toEqual(['MISS', 'secret'])
      const second = await read('/cdn/secret.txt')
      expect([second.response.headers.get('x-cache'), second.body]).toEqual(['MISS', 'secret'])
      expect(s3Count('secret.txt')).toBe(2)
    },
  )

  it('errors are not stored, and carry X-Cache', async () => {
    const first = await get('/cdn/missing.txt')
    expect(first.status).toBe(404)
    expect(first.headers.get('x-cache')).toBe('MISS')
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe('NotFound')
    const second = await get('/cdn/missing.txt')
    expect(second.status).toBe(404)
    expect(s3Count('missing.txt')).toBe(2)

    origin.put('broken.txt', { body: '', status: 500 })
    const failed = await get('/cdn/broken.txt')
    expect([failed.status, failed.headers.get('x-cache')]).toEqual([502, 'MISS'])
    await get('/cdn/broken.txt')
    expect(s3Count('broken.txt')).toBe(2)
  })

  it('an object over maxItemSize (by Content-Length) streams through untouched and is not stored', async () => {
    setup(cachedConfig({ maxItemSize: 1024 }))
    const big = new Uint8Array(4096).map((_, i) => i % 251)
    origin.put('big.bin', { body: big, chunkSize: 1000 })
    const first = await get('/cdn/big.bin')
    expect(first.headers.get('x-cache')).toBe('MISS')
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(big)
    await work.flush()
    const second = await get('/cdn/big.bin')
    expect(second.headers.get('x-cache')).toBe('MISS')
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(big)
    expect(s3Count('big.bin')).toBe(2)
  })

  it('an object without Content-Length found over maxItemSize while streaming: the client gets it all, nothing is stored', async () => {
    setup(cachedConfig({ maxItemSize: 1024 }))
    const big = new Uint8Array(4096).map((_, i) => i % 253)
    origin.put('chunked.bin', { body: big, chunkSize: 500, noLength: true })
    const first = await get('/cdn/chunked.bin')
    expect(first.headers.has('content-length')).toBe(false)
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(big)
    await work.flush()
    expect((await get('/cdn/chunked.bin')).headers.get('x-cache')).toBe('MISS')
    expect(s3Count('chunked.bin')).toBe(2)
  })

  it('an object without Content-Length within maxItemSize is stored', async () => {
    origin.put('small.txt', { body: 'small body', chunkSize: 3, noLength: true })
    expect((await read('/cdn/small.txt')).body).toBe('small body')
    const hit = await read('/cdn/small.txt')
    expect([hit.response.headers.get('x-cache'), hit.response.headers.get('content-length'), hit.body]).toEqual(['HIT', '10', 'small body'])
  })
})

describe('buckets without cache', () => {
  it.each([
    ['no cache block', null],
    ['enabled: false', { enabled: false, ttl: 60 }],
  ])('%s: every response says BYPASS, nothing is stored', async (_label, block) => {
    setup(cachedConfig(block))
    for (let i = 0; i < 2; i++) {
      const { response, body } = await read('/cdn/hello.txt')
      expect([response.headers.get('x-cache'), body]).toEqual(['BYPASS', 'hello world'])
    }
    expect((await get('/cdn/missing.txt')).headers.get('x-cache')).toBe('BYPASS')
    expect(s3Count('hello.txt')).toBe(2)
  })

  it('responses refused before the cache (routing) carry no X-Cache', async () => {
    const response = await get('/nowhere/x')
    expect(response.status).toBe(404)
    expect(response.headers.has('x-cache')).toBe(false)
  })
})
