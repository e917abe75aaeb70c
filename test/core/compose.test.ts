/**
 * compose(): errors become responses in one place. A middleware that throws is answered
 * with its JSON error response right there, so every middleware before it receives a
 * Response from next() — no per-middleware try/catch.
 */
import { describe, expect, it } from 'vitest'
import {
  compose,
  cors,
  createMetrics,
  ForbiddenError,
  ipFilter,
  metrics,
  rateLimit,
  requestId,
  requestLog,
  resolveConfig,
  routing,
  TooManyRequestsError,
  type Middleware,
} from '../../src/index.js'
import { chain, passThrough } from '../../src/compose.js'
import { memoryLogger } from '../support/jwt-fixtures.js'

const config = resolveConfig({
  buckets: [{ name: 'b', pathPrefix: '/b', s3: { bucket: 'x', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' } }],
})

/** Records what next() gave it: a Response, or the reason it rejected. */
function probe() {
  const seen: { response?: Response; rejected?: unknown }[] = []
  const middleware: Middleware = async (_ctx, next) => {
    try {
      const response = await next()
      seen.push({ response })
      return response
    } catch (rejected) {
      seen.push({ rejected })
      throw rejected
    }
  }
  return { seen, middleware }
}

describe('compose: errors become responses once', () => {
  it('a thrown HttpError reaches the middlewares before it as its JSON response, status and headers kept', async () => {
    const { seen, middleware } = probe()
    const handler = compose(requestId(), middleware, async () => {
      throw new TooManyRequestsError('slow down', { headers: { 'Retry-After': '3' } })
    })
    const response = await handler(new Request('http://proxy.test/b/k', { headers: { 'x-request-id': 'abc-1' } }))
    expect(seen).toHaveLength(1)
    expect(seen[0]!.rejected).toBeUndefined()
    expect(seen[0]!.response).toBe(response)
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('3')
    expect(response.headers.get('x-request-id')).toBe('abc-1')
    expect(await response.json()).toEqual({ error: { status: 429, code: 'TooManyRequests', message: 'slow down', requestId: 'abc-1' } })
  })

  it('a middleware that throws synchronously, or anything but an HttpError, becomes a 500 that reveals nothing', async () => {
    const { seen, middleware } = probe()
    const syncThrow = (() => {
      throw new Error('secret detail')
    }) as unknown as Middleware
    const response = await compose(middleware, syncThrow)(new Request('http://proxy.test/b/k'))
    expect(seen[0]!.response?.status).toBe(500)
    const text = await response.text()
    expect(text).toContain('InternalError')
    expect(text).not.toContain('secret detail')
  })

  it('the end of the chain is a 404 response to the middlewares before it', async () => {
    const { seen, middleware } = probe()
    const response = await compose(middleware)(new Request('http://proxy.test/b/k'))
    expect(seen[0]!.response?.status).toBe(404)
    expect(response.status).toBe(404)
  })

  it('metrics and the request log count a thrown error by its status without any error-mapping middleware', async () => {
    const collector = createMetrics()
    const logger = memoryLogger()
    const forbid: Middleware = async () => {
      throw new ForbiddenError('no')
    }
    const handler = compose(requestId(), requestLog(logger), metrics(collector), routing(config), forbid)
    const response = await handler(new Request('http://proxy.test/b/k'))
    expect(response.status).toBe(403)
    await response.arrayBuffer()
    const line = logger.entries.find((entry) => entry.message === 'request')
    expect(line?.fields).toMatchObject({ status: 403, outcome: 'completed', bucket: 'b' })
    expect(collector.render()).toMatch(/yatagarasu_http_requests_total\{bucket="b",method="GET",status="403"\} 1/)
  })

  it('a pass-through answers with what the rest of the chain answers, in a chain or called on its own', async () => {
    const teapot: Middleware = async () => new Response('tea', { status: 418 })
    const handler = compose(passThrough(), requestId(), passThrough(), teapot, passThrough())
    const response = await handler(new Request('http://proxy.test/b/k', { headers: { 'x-request-id': 'abc-2' } }))
    expect(response.status).toBe(418)
    expect(response.headers.get('x-request-id')).toBe('abc-2')
    expect(await response.text()).toBe('tea')
    // Outside compose it is still a middleware that calls next().
    const answer = new Response(null, { status: 204 })
    expect(await passThrough()({} as never, async () => answer)).toBe(answer)
    // Only pass-throughs: the end of the chain, 404.
    expect((await compose(passThrough(), passThrough())(new Request('http://proxy.test/b/k'))).status).toBe(404)
  })

  it('middlewares that hand back the promise next() gave them still pass a later error on as its response', async () => {
    const { seen, middleware } = probe()
    // Plain functions returning next() as it is (as the built-in middlewares do when they have nothing to do).
    const direct: Middleware = (_ctx, next) => next()
    const forbid: Middleware = async () => {
      throw new ForbiddenError('no')
    }
    const handler = compose(middleware, direct, routing(config), direct, forbid)
    const response = await handler(new Request('http://proxy.test/b/k'))
    expect(response.status).toBe(403)
    expect(seen[0]!.response).toBe(response)
    // A refusal of a non-async built-in (routing: no bucket) is a response too.
    expect((await handler(new Request('http://proxy.test/nowhere/k'))).status).toBe(404)
  })

  it('chain(): an outer next called twice is a 500 response, never a rejected handler', async () => {
    const twice: Middleware = (ctx, next) => chained(ctx, next).then(() => chained(ctx, next))
    const chained = chain((_ctx, next) => next())
    const { seen, middleware } = probe()
    const response = await compose(middleware, twice, async () => new Response('end'))(new Request('http://proxy.test/b/k'))
    expect(response.status).toBe(500)
    expect(seen[0]!.rejected).toBeUndefined()
  })

  it('CORS, IP filters and rate limits with nothing configured let every request through unchanged', async () => {
    const teapot: Middleware = async () => new Response('tea', { status: 418, headers: { 'x-mark': '1' } })
    const handler = compose(cors(config), routing(config), ipFilter(config), rateLimit(config), teapot)
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      const response = await handler(new Request('http://proxy.test/b/k', { method, headers: { origin: 'https://a.test', 'access-control-request-method': 'GET' } }))
      expect(response.status).toBe(418)
      expect([...response.headers.keys()].sort()).toEqual(['content-type', 'x-mark'])
    }
  })
})

