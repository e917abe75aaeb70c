/**
 * `yatagarasu/vercel` with plain Requests, faking what Next.js and Vercel put around a
 * route handler: the Edge runtime's `EdgeRuntime` global and its query-string params, the
 * request contexts that carry `waitUntil`. (The real Next.js runs in
 * test/conformance/nextjs.test.ts.)
 */
import { SignJWT } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createRouteHandlers, platformWaitUntil, toRouteHandlers, withoutRouteParams } from '../../src/adapters/vercel.js'
import type { FetchHandler, HandlerContext } from '../../src/index.js'
import { createYatagarasu, silentLogger, type YatagarasuConfig } from '../../src/index.js'

const VERCEL_CONTEXT = Symbol.for('@vercel/request-context')
const NEXT_CONTEXT = Symbol.for('@next/request-context')
const globals = globalThis as Record<string | symbol, unknown>

afterEach(() => {
  delete globals.EdgeRuntime
  delete globals[VERCEL_CONTEXT]
  delete globals[NEXT_CONTEXT]
})

/** A handler that reports what it was given. */
function recorder() {
  const calls: Array<{ url: string; context: HandlerContext | undefined; aborted: boolean }> = []
  const handler: FetchHandler = async (request, context) => {
    calls.push({ url: request.url, context, aborted: request.signal.aborted })
    return new Response('ok')
  }
  return { calls, handler }
}

const S3 = { bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', accessKey: 'AK', secretKey: 'SK' }

describe('withoutRouteParams', () => {
  it("removes the catch-all's params and Next's prefixed ones, keeping the rest as spelled", () => {
    const request = new Request('http://x/api/s3/cdn/a%2Fb?a=1%20+b&path=cdn&nxtPpath=x&path=a%2Fb&t=%7E')
    expect(withoutRouteParams(request, ['path']).url).toBe('http://x/api/s3/cdn/a%2Fb?a=1%20+b&t=%7E')
  })

  it('drops the query entirely when only params were there, and keeps method, headers and signal', () => {
    const controller = new AbortController()
    const request = new Request('http://x/p/k?path=p&path=k', { method: 'HEAD', headers: { Range: 'bytes=0-1' }, signal: controller.signal })
    const cleaned = withoutRouteParams(request, ['path'])
    expect(cleaned.url).toBe('http://x/p/k')
    expect(cleaned.method).toBe('HEAD')
    expect(cleaned.headers.get('range')).toBe('bytes=0-1')
    controller.abort()
    expect(cleaned.signal.aborted).toBe(true)
  })

  it('returns the same request when there is nothing to remove', () => {
    const request = new Request('http://x/p/k?token=abc')
    expect(withoutRouteParams(request, ['path'])).toBe(request)
    const bare = new Request('http://x/p/k')
    expect(withoutRouteParams(bare, ['path'])).toBe(bare)
  })
})

describe('toRouteHandlers', () => {
  it('exports one function for every method', () => {
    const routes = toRouteHandlers(recorder().handler)
    expect(new Set(Object.values(routes)).size).toBe(1)
    expect(Object.keys(routes).sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'])
  })

  it('on the Edge runtime, the handler sees the URL without the params Next appended', async () => {
    globals.EdgeRuntime = 'edge-runtime'
    const { calls, handler } = recorder()
    const { GET } = toRouteHandlers(handler)
    await GET(new Request('http://x/edge/s3/cdn/a%2Fb?v=2&path=cdn&path=a%2Fb'), { params: Promise.resolve({ path: ['cdn', 'a/b'] }) })
    expect(calls[0]!.url).toBe('http://x/edge/s3/cdn/a%2Fb?v=2')
  })

  it('on the Node.js runtime, the URL is left as Next gave it (Next appends nothing there)', async () => {
    const { calls, handler } = recorder()
    const { GET } = toRouteHandlers(handler)
    await GET(new Request('http://x/api/s3/cdn/k?path=mine'), { params: Promise.resolve({ path: ['cdn', 'k'] }) })
    expect(calls[0]!.url).toBe('http://x/api/s3/cdn/k?path=mine')
  })

  it("a query token source named like the catch-all is not fed the route's segments on Edge", async () => {
    globals.EdgeRuntime = 'edge-runtime'
    const secret = 'a-secret-long-enough-for-hs256-0123456789abcdef'
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))
    const config: YatagarasuConfig = {
      basePath: '/edge/s3',
      buckets: [{ name: 'p', pathPrefix: '/p', s3: S3, auth: { jwt: { secret, tokenSources: [{ type: 'query', name: 'path' }] } } }],
    }
    const { GET } = createRouteHandlers(config, { logger: silentLogger })
    // The route is app/edge/s3/p/[...path], its key here a token-shaped segment that Next
    // appended as `?path=`: without the clean-up, it would pass as the query token and
    // the request would reach S3 (502 here: nothing listens there).
    const response = await GET(new Request(`http://x/edge/s3/p/${token}?path=${token}`), {
      params: Promise.resolve({ path: [token] }),
    })
    expect(response.status).toBe(401)
    delete globals.EdgeRuntime // the same request on the Node.js runtime, where Next appends nothing
    const node = await GET(new Request(`http://x/edge/s3/p/${token}?path=${token}`), { params: Promise.resolve({ path: [token] }) })
    expect(node.status).toBe(502)
  })

  it("passes the platform's waitUntil: Vercel's first, else Next's Edge sandbox's", async () => {
    const { calls, handler } = recorder()
    const { GET } = toRouteHandlers(handler)
    await GET(new Request('http://x/k'))
    expect(calls[0]!.context?.waitUntil).toBeUndefined()

    const nextWaitUntil = vi.fn()
    globals[NEXT_CONTEXT] = { get: () => ({ waitUntil: nextWaitUntil }) }
    await GET(new Request('http://x/k'))
    const work = Promise.resolve()
    calls[1]!.context!.waitUntil!(work)
    expect(nextWaitUntil).toHaveBeenCalledWith(work)

    const vercelContext = { waitUntil: vi.fn(function (this: unknown) { expect(this).toBe(vercelContext) }) }
    globals[VERCEL_CONTEXT] = { get: () => vercelContext }
    await GET(new Request('http://x/k'))
    calls[2]!.context!.waitUntil!(work)
    expect(vercelContext.waitUntil).toHaveBeenCalledWith(work)
    expect(nextWaitUntil).toHaveBeenCalledTimes(1)
  })

  it('a request context without waitUntil is ignored', () => {
    globals[VERCEL_CONTEXT] = { get: () => undefined }
    globals[NEXT_CONTEXT] = { get: () => ({}) }
    expect(platformWaitUntil()).toBeUndefined()
  })

  it('trusts X-Real-IP only on Vercel, unless told how to find the client IP', async () => {
    const { calls, handler } = recorder()
    const headers = { 'X-Real-IP': '203.0.113.7' }
    await toRouteHandlers(handler).GET(new Request('http://x/k', { headers }))
    expect(calls[0]!.context?.clientIp).toBeUndefined()

    globals[VERCEL_CONTEXT] = { get: () => ({}) }
    await toRouteHandlers(handler).GET(new Request('http://x/k', { headers }))
    expect(calls[1]!.context?.clientIp).toBe('203.0.113.7')

    delete globals[VERCEL_CONTEXT]
    const clientIp = (request: Request) => request.headers.get('x-forwarded-for')?.split(',')[0]?.trim()
    await toRouteHandlers(handler, { clientIp }).GET(new Request('http://x/k', { headers: { 'X-Forwarded-For': '198.51.100.1, 10.0.0.1' } }))
    expect(calls[2]!.context?.clientIp).toBe('198.51.100.1')
  })
})

describe('ranges of pre-compressed objects (Next decodes what its fetch receives)', () => {
  /** An S3 that honours Range and stores the object gzip-encoded. */
  function encodedObjectS3() {
    const ranges: Array<string | null> = []
    const fetch = async (_url: string, init: RequestInit) => {
      const range = new Headers(init.headers).get('range')
      ranges.push(range)
      const headers = { 'Content-Encoding': 'gzip', 'Content-Type': 'text/html' }
      return range === null
        ? new Response('whole-object', { headers: { ...headers, 'Content-Length': '12' } })
        : new Response('whole', { status: 206, headers: { ...headers, 'Content-Length': '5', 'Content-Range': 'bytes 0-4/12' } })
    }
    return { ranges, fetch }
  }

  it('a Range on an object with a Content-Encoding is answered with the whole object, 200', async () => {
    const s3 = encodedObjectS3()
    const { GET } = createRouteHandlers({ buckets: [{ name: 'b', pathPrefix: '/b', s3: S3 }] }, { fetch: s3.fetch, logger: silentLogger })
    const response = await GET(new Request('http://x/b/page.html', { headers: { Range: 'bytes=0-4', 'If-Range': '"e"' } }))
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('whole-object')
    expect(s3.ranges).toEqual(['bytes=0-4', null])
  })

  it('the whole object is asked of S3 again within the one pass: one rate-limit token, one JWT check, one log line', async () => {
    const s3 = encodedObjectS3()
    const secret = 'a-secret-long-enough-for-hs256-0123456789abcdef'
    const token = await new SignJWT({ sub: 'ann' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))
    const consumed: string[] = []
    const rateLimitStore = { consume: (key: string) => (consumed.push(key), { allowed: true, retryAfterMs: 0 }) }
    const audited: string[] = []
    const logged: string[] = []
    const requestLog = { ...silentLogger, info: (message: string) => void logged.push(message) }
    const config: YatagarasuConfig = {
      rateLimiting: { requestsPerSecond: 100 },
      buckets: [{ name: 'b', pathPrefix: '/b', s3: S3, auth: { jwt: { secret } } }],
    }
    const { GET } = createRouteHandlers(config, {
      fetch: s3.fetch,
      logger: silentLogger,
      rateLimitStore,
      audit: (entry) => void audited.push(`${entry.decision}:${entry.subject}`),
      requestLog,
    })
    const response = await GET(new Request('http://x/b/page.html', { headers: { Range: 'bytes=0-4', Authorization: `Bearer ${token}` } }))
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('whole-object')
    expect(s3.ranges).toEqual(['bytes=0-4', null])
    expect(consumed).toHaveLength(1)
    expect(audited).toEqual(['allow:ann'])
    expect(logged).toHaveLength(1)
  })

  it('a handler built without the adapter (no decodesContentEncoding) keeps the 206', async () => {
    const s3 = encodedObjectS3()
    const handler = createYatagarasu({ buckets: [{ name: 'b', pathPrefix: '/b', s3: S3 }] }, { fetch: s3.fetch, logger: silentLogger })
    const response = await handler(new Request('http://x/b/page.html', { headers: { Range: 'bytes=0-4' } }))
    expect(response.status).toBe(206)
    expect(response.headers.get('content-encoding')).toBe('gzip')
    expect(s3.ranges).toEqual(['bytes=0-4'])
  })

  it('a Range on a plain object stays a 206', async () => {
    const ranges: Array<string | null> = []
    const fetch = async (_url: string, init: RequestInit) => {
      ranges.push(new Headers(init.headers).get('range'))
      return new Response('whole', { status: 206, headers: { 'Content-Length': '5', 'Content-Range': 'bytes 0-4/12' } })
    }
    const { GET } = createRouteHandlers({ buckets: [{ name: 'b', pathPrefix: '/b', s3: S3 }] }, { fetch, logger: silentLogger })
    const response = await GET(new Request('http://x/b/data.bin', { headers: { Range: 'bytes=0-4' } }))
    expect(response.status).toBe(206)
    expect(await response.text()).toBe('whole')
    expect(ranges).toEqual(['bytes=0-4'])
  })
})

describe('createRouteHandlers', () => {
  it('serves the proxy: write methods get its JSON 405 with Allow', async () => {
    const routes = createRouteHandlers({ basePath: '/api/s3', buckets: [{ name: 'c', pathPrefix: '/c', s3: S3 }] })
    const response = await routes.POST(new Request('http://x/api/s3/c/k', { method: 'POST', body: 'x' }))
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS')
    expect((await response.json()).error.status).toBe(405)
    const options = await routes.OPTIONS(new Request('http://x/api/s3/c/k', { method: 'OPTIONS' }))
    expect(options.status).toBe(204)
  })

  it('a config function is called on the first request only, not when the module loads', async () => {
    const config = vi.fn(() => ({ basePath: '/api/s3', buckets: [{ name: 'c', pathPrefix: '/c', s3: S3 }] }))
    const { GET } = createRouteHandlers(config)
    expect(config).not.toHaveBeenCalled()
    expect((await GET(new Request('http://x/api/s3/nowhere/k'))).status).toBe(404)
    expect((await GET(new Request('http://x/api/s3/nowhere/k'))).status).toBe(404)
    expect(config).toHaveBeenCalledTimes(1)
  })

  it('a bad config answers a JSON 500 and logs the field paths, never the values', async () => {
    const logger = { ...silentLogger, error: vi.fn() }
    const { GET } = createRouteHandlers(
      () => ({ buckets: [{ name: 'c', pathPrefix: '/c', s3: { ...S3, secretKey: 'SUPER-SECRET', region: '' } }] }),
      { logger },
    )
    const response = await GET(new Request('http://x/c/k'))
    expect(response.status).toBe(500)
    const body = await response.text()
    expect(JSON.parse(body).error.code).toBe('InternalError')
    expect(logger.error).toHaveBeenCalledTimes(1)
    const logged = JSON.stringify(logger.error.mock.calls[0])
    expect(logged).toMatch(/buckets\[0\]\.s3\.region/)
    expect(logged + body).not.toMatch(/SUPER-SECRET/)
  })

  it('a plain `export const GET = handler` works too, with basePath and Next’s context argument', async () => {
    const handler = createYatagarasu({ basePath: '/api/s3', buckets: [{ name: 'c', pathPrefix: '/c', s3: S3 }] })
    const GET = handler as unknown as (request: Request, context: { params: Promise<unknown> }) => Promise<Response>
    const response = await GET(new Request('http://x/api/s3/c/'), { params: Promise.resolve({ path: ['c'] }) })
    expect(response.status).toBe(404) // routed past basePath to bucket c: an empty key
    expect((await response.json()).error.message).toBe('No object key in the path')
  })
})
