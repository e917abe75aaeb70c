/**
 * Where the token is looked for: bearer (scheme case-insensitive), a header with or
 * without a prefix, a query parameter; in the configured order, falling through only
 * when a source is absent. A query token is removed from ctx.url before anything else.
 */
import { describe, expect, it } from 'vitest'
import { compose, jwtAuth, resolveConfig, routing, type TokenSource } from '../../src/index.js'
import { createYatagarasu } from '../../src/index.js'
import { errorOf, fakeS3, HS_SECRET, memoryLogger, S3, secretBytes, sign } from '../support/jwt-fixtures.js'

const token = await sign({ sub: 'ada' }, secretBytes(), 'HS256')
const wrongToken = await sign({ sub: 'mallory' }, secretBytes('a-different-secret-that-is-long-enough-000000'), 'HS256')

/** A pipeline that answers with what the later middlewares see: the claims and the URL. */
function probe(tokenSources?: TokenSource[]) {
  const config = resolveConfig({
    buckets: [
      { name: 'private', pathPrefix: '/p', s3: S3, auth: { jwt: { secret: HS_SECRET, ...(tokenSources && { tokenSources }) } } },
    ],
  })
  return compose(routing(config), jwtAuth(config, { logger: memoryLogger() }), async (ctx) =>
    Response.json({ sub: ctx.claims?.sub, url: ctx.url.href }),
  )
}

async function call(handler: ReturnType<typeof probe>, path: string, headers: Record<string, string> = {}) {
  const response = await handler(new Request(`http://proxy.test${path}`, { headers }))
  return { response, status: response.status, body: response.status === 200 ? ((await response.json()) as { sub: string; url: string }) : undefined }
}

describe('bearer (the default)', () => {
  const handler = probe()

  it('reads Authorization: Bearer <token>', async () => {
    expect((await call(handler, '/p/a', { Authorization: `Bearer ${token}` })).body?.sub).toBe('ada')
  })

  it('the scheme is case-insensitive and extra spaces are tolerated', async () => {
    for (const value of [`bearer ${token}`, `BEARER ${token}`, `BeArEr    ${token}  `]) {
      expect((await call(handler, '/p/a', { Authorization: value })).status).toBe(200)
    }
  })

  it('another scheme (Basic) is no token: 401 without invalid_token', async () => {
    const { response } = await call(handler, '/p/a', { Authorization: 'Basic YWRhOnNlY3JldA==' })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="private"')
  })

  it('"Bearer" with nothing after it is a malformed token', async () => {
    const { response } = await call(handler, '/p/a', { Authorization: 'Bearer   ' })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token", error_description="malformed token"')
  })

  it('a query token is not read when only bearer is configured (and the URL is left alone)', async () => {
    const { status } = await call(handler, `/p/a?token=${token}`)
    expect(status).toBe(401)
  })
})

describe('header', () => {
  it('without prefix: the whole value, header name case-insensitive', async () => {
    const handler = probe([{ type: 'header', name: 'X-Auth-Token' }])
    expect((await call(handler, '/p/a', { 'x-auth-token': token })).body?.sub).toBe('ada')
    expect((await call(handler, '/p/a', { 'X-AUTH-TOKEN': ` ${token} ` })).body?.sub).toBe('ada')
    expect((await call(handler, '/p/a', { Authorization: `Bearer ${token}` })).status).toBe(401)
  })

  it('with prefix: what follows it, matched case-insensitively; another prefix is no token', async () => {
    const handler = probe([{ type: 'header', name: 'Authorization', prefix: 'Token ' }])
    expect((await call(handler, '/p/a', { Authorization: `Token ${token}` })).status).toBe(200)
    expect((await call(handler, '/p/a', { Authorization: `token ${token}` })).status).toBe(200)
    const other = await call(handler, '/p/a', { Authorization: `Bearer ${token}` })
    expect(other.status).toBe(401)
    expect(other.response.headers.get('www-authenticate')).toBe('Bearer realm="private"')
  })

  it('a prefix without a trailing space needs no separator', async () => {
    const handler = probe([{ type: 'header', name: 'X-Signed', prefix: 'jwt=' }])
    expect((await call(handler, '/p/a', { 'X-Signed': `jwt=${token}` })).status).toBe(200)
  })
})

describe('query', () => {
  it('reads the parameter and removes it from ctx.url; other parameters stay', async () => {
    const handler = probe([{ type: 'query', name: 'access_token' }])
    const { body } = await call(handler, `/p/a?x=1&access_token=${token}&y=2`)
    expect(body?.sub).toBe('ada')
    expect(body?.url).toBe('http://proxy.test/p/a?x=1&y=2')
    expect(body?.url).not.toContain(token)
  })

  it('the name defaults to token', async () => {
    const handler = probe([{ type: 'query' }])
    const { body } = await call(handler, `/p/a?token=${token}`)
    expect(body).toEqual({ sub: 'ada', url: 'http://proxy.test/p/a' })
  })

  it('a blank parameter is absent', async () => {
    const handler = probe([{ type: 'query', name: 'token' }])
    const { response } = await call(handler, '/p/a?token=')
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="private"')
  })
})

describe('order', () => {
  const handler = probe([{ type: 'bearer' }, { type: 'header', name: 'X-Auth-Token' }, { type: 'query', name: 'token' }])

  it('falls through absent sources to the first present one', async () => {
    expect((await call(handler, '/p/a', { 'X-Auth-Token': token })).status).toBe(200)
    expect((await call(handler, `/p/a?token=${token}`)).status).toBe(200)
    expect((await call(handler, `/p/a?token=${token}`, { Authorization: 'Basic eDp5' })).status).toBe(200)
  })

  it('the first present source decides: a bad bearer token is not rescued by a good query token', async () => {
    const { response } = await call(handler, `/p/a?token=${token}`, { Authorization: `Bearer ${wrongToken}` })
    expect(response.status).toBe(401)
    expect((await errorOf(response)).message).toBe('signature invalid')
    const malformed = await call(handler, '/p/a', { Authorization: 'Bearer', 'X-Auth-Token': token })
    expect(malformed.status).toBe(401)
  })

  it('a good earlier source wins over a bad later one', async () => {
    expect((await call(handler, `/p/a?token=${wrongToken}`, { Authorization: `Bearer ${token}` })).body?.sub).toBe('ada')
    expect((await call(handler, `/p/a?token=garbage`, { 'X-Auth-Token': token })).body?.sub).toBe('ada')
  })

  it('the order is the configured one', async () => {
    const queryFirst = probe([{ type: 'query', name: 'token' }, { type: 'bearer' }])
    const { body } = await call(queryFirst, `/p/a?token=${token}`, { Authorization: `Bearer ${wrongToken}` })
    expect(body?.sub).toBe('ada')
  })

  it('the query token is removed whichever source won, and when the request is refused', async () => {
    const seen: string[] = []
    const config = resolveConfig({
      buckets: [
        {
          name: 'private',
          pathPrefix: '/p',
          s3: S3,
          auth: { jwt: { secret: HS_SECRET, tokenSources: [{ type: 'bearer' }, { type: 'query', name: 'token' }] } },
        },
      ],
    })
    const handler = compose(
      async (ctx, next) => {
        const response = await next()
        seen.push(ctx.url.href) // what a logging/metrics middleware placed first sees afterwards
        return response
      },
      routing(config),
      jwtAuth(config, { logger: memoryLogger() }),
      async () => new Response('ok'),
    )
    await handler(new Request(`http://proxy.test/p/a?token=${token}`, { headers: { Authorization: `Bearer ${token}` } }))
    await handler(new Request(`http://proxy.test/p/a?token=${wrongToken}`))
    await handler(new Request('http://proxy.test/p/a?token=not.a.jwt'))
    expect(seen).toEqual(['http://proxy.test/p/a', 'http://proxy.test/p/a', 'http://proxy.test/p/a'])
  })
})

describe('through createYatagarasu', () => {
  it('a query token authenticates and never reaches S3', async () => {
    const s3 = fakeS3()
    const handler = createYatagarasu(
      {
        buckets: [
          { name: 'private', pathPrefix: '/p', s3: S3, auth: { jwt: { secret: HS_SECRET, tokenSources: [{ type: 'query', name: 'token' }] } } },
        ],
      },
      { fetch: s3.fetch, logger: memoryLogger() },
    )
    const response = await handler(new Request(`http://proxy.test/p/file.txt?token=${token}`))
    expect(response.status).toBe(200)
    expect(s3.calls).toHaveLength(1)
    expect(s3.calls[0]!.url).not.toContain('token')
    expect(s3.calls[0]!.url).not.toContain('?')
  })
})
