/**
 * If-None-Match / If-Modified-Since answered from a cached entry (RFC 9110 §13.1.2,
 * §13.1.3, §13.2.2), and conditional requests on a cold cache.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { createYatagarasu, type FetchHandler } from '../../src/index.js'
import { isNotModified } from '../../src/cache/conditional.js'
import { backgroundWork, cachedConfig, fakeOrigin, type FakeOrigin } from '../support/cache-origin.js'

const LAST_MODIFIED = 'Wed, 01 Jan 2025 12:00:00 GMT'
let origin: FakeOrigin
let handler: FetchHandler
let work: ReturnType<typeof backgroundWork>

async function get(headers: Record<string, string> = {}, method = 'GET') {
  const response = await handler(new Request('http://proxy.test/cdn/page.html', { method, headers }), work.context)
  const body = await response.text()
  await work.flush()
  return { status: response.status, cache: response.headers.get('x-cache'), body, headers: response.headers }
}

beforeEach(() => {
  origin = fakeOrigin()
  origin.put('page.html', {
    body: '<p>hi</p>',
    headers: { ETag: '"v1"', 'Last-Modified': LAST_MODIFIED, 'Cache-Control': 'max-age=30', 'Content-Type': 'text/html' },
  })
  work = backgroundWork()
  handler = createYatagarasu(cachedConfig(), { fetch: origin.fetch })
})

describe('conditional requests on a cached object', () => {
  beforeEach(async () => {
    await get()
  })

  it.each([
    ['"v1"'],
    ['W/"v1"'],
    ['"other", "v1"'],
    ['"a,b", W/"v1"'],
    ['*'],
  ])('If-None-Match: %s → 304 from the cache with the validators, no body', async (value) => {
    const response = await get({ 'If-None-Match': value })
    expect([response.status, response.cache, response.body]).toEqual([304, 'HIT', ''])
    expect(response.headers.get('etag')).toBe('"v1"')
    expect(response.headers.get('last-modified')).toBe(LAST_MODIFIED)
    expect(response.headers.get('cache-control')).toBe('max-age=30')
    expect(response.headers.has('content-type')).toBe(false)
    expect(origin.requests).toHaveLength(1)
  })

  it.each([['"v2"'], ['W/"v2", "v3"'], ['v1'], ['']])('If-None-Match: %s (no match) → 200 from the cache', async (value) => {
    const response = await get({ 'If-None-Match': value })
    expect([response.status, response.cache, response.body]).toEqual([200, 'HIT', '<p>hi</p>'])
  })

  it('If-None-Match takes precedence over If-Modified-Since', async () => {
    const response = await get({ 'If-None-Match': '"v2"', 'If-Modified-Since': 'Thu, 01 Jan 2026 00:00:00 GMT' })
    expect(response.status).toBe(200)
    const notModified = await get({ 'If-None-Match': '"v1"', 'If-Modified-Since': 'Thu, 01 Jan 2020 00:00:00 GMT' })
    expect(notModified.status).toBe(304)
  })

  it.each([
    [LAST_MODIFIED, 304],
    ['Thu, 01 Jan 2026 00:00:00 GMT', 304],
    ['Wed, 01 Jan 2025 11:59:59 GMT', 200],
    ['not a date', 200],
  ])('If-Modified-Since: %s → %i', async (value, status) => {
    const response = await get({ 'If-Modified-Since': value })
    expect([response.status, response.cache]).toEqual([status, 'HIT'])
    expect(origin.requests).toHaveLength(1)
  })

  it('HEAD with a matching If-None-Match → 304', async () => {
    const response = await get({ 'If-None-Match': '"v1"' }, 'HEAD')
    expect([response.status, response.cache]).toEqual([304, 'HIT'])
  })
})

describe('conditional requests on a cold cache', () => {
  it('go to S3 with their condition; a 304 from S3 passes through and nothing is stored', async () => {
    const response = await get({ 'If-None-Match': '"v1"' })
    expect([response.status, response.cache]).toEqual([304, 'MISS'])
    expect(origin.requests[0]?.headers.get('if-none-match')).toBe('"v1"')
    expect((await get()).cache).toBe('MISS')
    expect((await get()).cache).toBe('HIT')
  })

  it('a 200 from S3 to a conditional request reaches the client', async () => {
    const response = await get({ 'If-None-Match': '"old"' })
    expect([response.status, response.cache, response.body]).toEqual([200, 'MISS', '<p>hi</p>'])
  })
})

describe('isNotModified', () => {
  const request = (headers: Record<string, string>) => new Headers(headers)
  it('needs a validator on the entry to compare with', () => {
    expect(isNotModified(request({ 'If-None-Match': '"x"' }), undefined, undefined)).toBe(false)
    expect(isNotModified(request({ 'If-None-Match': '*' }), undefined, undefined)).toBe(true)
    expect(isNotModified(request({ 'If-Modified-Since': LAST_MODIFIED }), '"x"', undefined)).toBe(false)
    expect(isNotModified(request({}), '"x"', LAST_MODIFIED)).toBe(false)
  })
  it('compares weakly: a weak cached ETag matches its strong form', () => {
    expect(isNotModified(request({ 'If-None-Match': '"x"' }), 'W/"x"', undefined)).toBe(true)
  })
})
