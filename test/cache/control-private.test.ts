/**
 * Responses of a bucket with auth carry `Cache-Control: private` (S3's `max-age` kept,
 * its `public` dropped), so a shared cache in front (CDN, corporate proxy) never stores
 * what a token unlocked; a bucket can opt out with `cacheControl: 'public'`. The
 * proxy's own cache still stores the object (it checks auth before every hit).
 */
import { SignJWT } from 'jose'
import { beforeEach, describe, expect, it } from 'vitest'
import { createCache, createYatagarasu, parseConfig, silentLogger, type YatagarasuCache, type YatagarasuConfig } from '../../src/index.js'
import { privateCacheControl } from '../../src/http/cache-control.js'
import { backgroundWork, ENDPOINT, fakeOrigin, type FakeOrigin } from '../support/cache-origin.js'

const SECRET = 'cache-control-test-secret-long-enough-for-hs256'
const token = () =>
  new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))

const s3 = { bucket: 'assets', region: 'us-east-1', endpoint: ENDPOINT, accessKey: 'AK', secretKey: 'SK' }
const auth = { enabled: true, jwt: { secret: SECRET, algorithm: 'HS256' as const } }
const config: YatagarasuConfig = {
  buckets: [
    { name: 'private', pathPrefix: '/private', s3, auth, cache: { enabled: true } },
    { name: 'shared', pathPrefix: '/shared', s3, auth, cacheControl: 'public' },
    { name: 'open', pathPrefix: '/open', s3 },
  ],
}

let origin: FakeOrigin
let work: ReturnType<typeof backgroundWork>
beforeEach(() => {
  origin = fakeOrigin()
  origin.put('public.txt', { body: 'hello world', headers: { ETag: '"e1"', 'Cache-Control': 'public, max-age=3600, s-maxage=86400' } })
  origin.put('plain.txt', { body: 'no header', headers: { ETag: '"e2"' } })
  work = backgroundWork()
})

async function get(path: string, headers: Record<string, string> = {}) {
  const handler = createYatagarasu(config, { logger: silentLogger, fetch: origin.fetch, cache: sharedCache })
  const response = await handler(new Request(`http://proxy.test${path}`, { headers }), work.context)
  await response.arrayBuffer()
  await work.flush()
  return response
}
let sharedCache: YatagarasuCache

describe('privateCacheControl', () => {
  it.each([
    [null, 'private'],
    ['public, max-age=3600', 'private, max-age=3600'],
    ['max-age=60, s-maxage=600, proxy-revalidate, must-revalidate', 'private, max-age=60, must-revalidate'],
    ['PUBLIC,MAX-AGE=5', 'private, MAX-AGE=5'],
    ['private, max-age=10', 'private, max-age=10'],
    ['no-cache="Set-Cookie, X-A", public', 'private, no-cache="Set-Cookie, X-A"'],
    ['no-store', 'private, no-store'],
    ['', 'private'],
  ])('%s → %s', (value, expected) => {
    expect(privateCacheControl(value)).toBe(expected)
  })
})

describe('Cache-Control on a bucket with auth', () => {
  beforeEach(() => {
    sharedCache = createCache()
  })

  it('200: private, S3 max-age kept, public and s-maxage dropped; a cache hit too', async () => {
    const headers = { Authorization: `Bearer ${await token()}` }
    const miss = await get('/private/public.txt', headers)
    expect(miss.status).toBe(200)
    expect(miss.headers.get('x-cache')).toBe('MISS')
    expect(miss.headers.get('cache-control')).toBe('private, max-age=3600')
    const hit = await get('/private/public.txt', headers)
    expect(hit.headers.get('x-cache')).toBe('HIT') // the proxy's own cache still keeps it
    expect(hit.headers.get('cache-control')).toBe('private, max-age=3600')
    const none = await get('/private/plain.txt', headers)
    expect(none.headers.get('cache-control')).toBe('private')
  })

  it('206 and 304: private', async () => {
    const headers = { Authorization: `Bearer ${await token()}` }
    const part = await get('/private/public.txt', { ...headers, Range: 'bytes=0-4' })
    expect(part.status).toBe(206)
    expect(part.headers.get('cache-control')).toBe('private, max-age=3600')
    const notModified = await get('/private/plain.txt', { ...headers, 'If-None-Match': '"e2"' })
    expect(notModified.status).toBe(304)
    expect(notModified.headers.get('cache-control')).toBe('private')
  })

  it("cacheControl: 'public' passes S3's header on; a bucket without auth is untouched", async () => {
    const shared = await get('/shared/public.txt', { Authorization: `Bearer ${await token()}` })
    expect(shared.headers.get('cache-control')).toBe('public, max-age=3600, s-maxage=86400')
    const open = await get('/open/public.txt')
    expect(open.headers.get('cache-control')).toBe('public, max-age=3600, s-maxage=86400')
    expect((await get('/open/plain.txt')).headers.get('cache-control')).toBeNull()
  })

  it('refusals keep no-store', async () => {
    const refused = await get('/private/public.txt')
    expect(refused.status).toBe(401)
    expect(refused.headers.get('cache-control')).toBe('no-store')
  })

  it('YAML: cache_control: public | private; anything else is an error naming the field', () => {
    const yaml = (value: string) =>
      `buckets:\n  - name: a\n    path_prefix: /a\n    cache_control: ${value}\n    s3: { bucket: b, region: r, access_key: k, secret_key: s }\n`
    expect(parseConfig(yaml('public')).buckets[0]!.cacheControl).toBe('public')
    expect(parseConfig(yaml('private')).buckets[0]!.cacheControl).toBe('private')
    expect(() => parseConfig(yaml('shared'))).toThrow(/buckets\[0\]\.cache_control.*must be private or public/)
  })
})
