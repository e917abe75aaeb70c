/**
 * Authentication runs before the cache: a cached private object is never served to a
 * request that would be refused (anonymous, bad token, wrong claims).
 */
import { SignJWT } from 'jose'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  cache,
  compose,
  createCache,
  createYatagarasu,
  ForbiddenError,
  readOnly,
  requestId,
  routing,
  s3Origin,
  UnauthorizedError,
  type FetchHandler,
  type Middleware,
  type YatagarasuConfig,
} from '../../src/index.js'
import { backgroundWork, cachedConfig, fakeOrigin, type FakeOrigin } from '../support/cache-origin.js'

let origin: FakeOrigin
let work: ReturnType<typeof backgroundWork>

async function call(handler: FetchHandler, headers: Record<string, string> = {}, method = 'GET') {
  const response = await handler(new Request('http://proxy.test/cdn/private.txt', { method, headers }), work.context)
  const body = await response.text()
  await work.flush()
  return { status: response.status, cache: response.headers.get('x-cache'), body }
}

beforeEach(() => {
  origin = fakeOrigin()
  origin.put('private.txt', { body: 'TOP SECRET CONTENT', headers: { ETag: '"s1"' } })
  work = backgroundWork()
})

describe('auth before cache (a stand-in auth middleware)', () => {
  // Bearer "admin" passes, "guest" is a valid user with the wrong role, anything else is refused.
  const auth: Middleware = async function fakeAuth(ctx, next) {
    const token = ctx.request.headers.get('authorization')
    if (token === 'Bearer admin') return next()
    if (token === 'Bearer guest') throw new ForbiddenError('claim check failed')
    throw new UnauthorizedError('authentication required', { headers: { 'WWW-Authenticate': 'Bearer' } })
  }

  it('never serves the cached object to an anonymous or wrong-claims request', async () => {
    const config = cachedConfig()
    const handler = compose(requestId(), routing(config), readOnly(), auth, cache(config, { cache: createCache() }), s3Origin(config, { fetch: origin.fetch }))

    expect(await call(handler, { Authorization: 'Bearer admin' })).toMatchObject({ status: 200, cache: 'MISS' })
    expect(await call(handler, { Authorization: 'Bearer admin' })).toMatchObject({ status: 200, cache: 'HIT' })

    for (const headers of [{}, { Authorization: 'Bearer nope' }, { Authorization: 'Bearer guest' }] as Array<Record<string, string>>) {
      for (const method of ['GET', 'HEAD']) {
        const refused = await call(handler, headers, method)
        expect([401, 403]).toContain(refused.status)
        expect(refused.body).not.toContain('SECRET')
        expect(refused.cache).toBeNull()
      }
    }
    // conditional requests learn nothing either (no 304 from the cache)
    expect((await call(handler, { 'If-None-Match': '"s1"' })).status).toBe(401)
    expect(origin.requests).toHaveLength(1)
  })
})

describe('auth before cache (createYatagarasu with a real HS256 bucket)', () => {
  const secret = 'a-test-secret-that-is-long-enough-for-hs256!'
  const key = new TextEncoder().encode(secret)
  const token = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key)

  it('a cached private object is refused to anonymous and wrong-claims requests', async () => {
    const base = cachedConfig().buckets[0]!
    const config: YatagarasuConfig = {
      buckets: [
        {
          ...base,
          auth: {
            enabled: true,
            jwt: { secret, algorithm: 'HS256', claimsVerification: [{ claim: 'role', operator: 'equals', value: 'admin' }] },
          },
        } as YatagarasuConfig['buckets'][number],
      ],
    }
    const handler = createYatagarasu(config, { fetch: origin.fetch })
    const admin = { Authorization: `Bearer ${await token({ role: 'admin' })}` }
    const viewer = { Authorization: `Bearer ${await token({ role: 'viewer' })}` }

    expect(await call(handler, admin)).toMatchObject({ status: 200, cache: 'MISS', body: 'TOP SECRET CONTENT' })
    expect(await call(handler, admin)).toMatchObject({ status: 200, cache: 'HIT', body: 'TOP SECRET CONTENT' })

    const anonymous = await call(handler)
    expect(anonymous.status).toBe(401)
    expect(anonymous.body).not.toContain('SECRET')
    const wrongClaims = await call(handler, viewer)
    expect(wrongClaims.status).toBe(403)
    expect(wrongClaims.body).not.toContain('SECRET')
    const forged = await call(handler, { Authorization: `Bearer ${(await token({ role: 'admin' })).slice(0, -4)}AAAA` })
    expect(forged.status).toBe(401)
    expect(origin.requests).toHaveLength(1)
  })
})
