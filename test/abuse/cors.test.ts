/**
 * CORS per bucket: preflights answered without S3 (204 + Access-Control-Allow-*,
 * nothing for a disallowed origin or method), `Vary: Origin`, exact and wildcard
 * origins, credentials, and CORS headers on error responses too.
 */
import { describe, expect, it } from 'vitest'
import { compose, cors, createYatagarasu, resolveConfig, routing, silentLogger, type ConfigError, type YatagarasuConfig } from '../../src/index.js'

const s3 = { bucket: 'b', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' }

function proxy(config: YatagarasuConfig, reply: (url: string) => Response = () => new Response('ok')) {
  const urls: string[] = []
  const handler = createYatagarasu(config, {
    logger: silentLogger,
    fetch: async (url) => {
      urls.push(url)
      return reply(url)
    },
  })
  const send = (path: string, init: RequestInit = {}, clientIp = '10.0.0.1') =>
    handler(new Request(`http://proxy.test${path}`, init), { clientIp })
  return { send, urls }
}

const config: YatagarasuConfig = {
  buckets: [
    {
      name: 'web',
      pathPrefix: '/web',
      s3,
      cors: {
        allowedOrigins: ['https://app.example.com', 'https://*.example.org'],
        allowedHeaders: ['Authorization', 'Range'],
        maxAge: 600,
      },
      ipFilter: { deny: ['10.6.6.0/24'] },
      rateLimiting: { requestsPerSecond: 0.1, burstSize: 1, key: 'ip' },
    },
    { name: 'any', pathPrefix: '/any', s3, cors: { allowedOrigins: ['*'] } },
    {
      name: 'creds',
      pathPrefix: '/creds',
      s3,
      cors: { allowedOrigins: ['https://app.example.com'], allowCredentials: true, allowedHeaders: ['*'] },
    },
    { name: 'plain', pathPrefix: '/plain', s3 },
  ],
}

const preflight = (origin: string, method = 'GET', headers: Record<string, string> = {}): RequestInit => ({
  method: 'OPTIONS',
  headers: { Origin: origin, 'Access-Control-Request-Method': method, ...headers },
})

describe('preflight', () => {
  it('is answered without S3: 204 with the Access-Control-Allow-* headers', async () => {
    const { send, urls } = proxy(config)
    const response = await send('/web/a.txt', preflight('https://app.example.com', 'GET', { 'Access-Control-Request-Headers': 'authorization, range' }))
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, HEAD')
    expect(response.headers.get('access-control-allow-headers')).toBe('Authorization, Range')
    expect(response.headers.get('access-control-max-age')).toBe('600')
    expect(response.headers.get('access-control-allow-credentials')).toBeNull()
    expect(response.headers.get('vary')).toMatch(/Origin/)
    expect(response.headers.get('x-request-id')).toBeTruthy()
    expect(urls).toHaveLength(0)
  })

  it.each([
    ['a disallowed origin', 'https://evil.example.com', 'GET'],
    ['a disallowed method', 'https://app.example.com', 'PUT'],
    ['a disallowed method (DELETE)', 'https://app.example.com', 'DELETE'],
  ])('for %s carries no CORS headers', async (_, origin, method) => {
    const { send, urls } = proxy(config)
    const response = await send('/web/a.txt', preflight(origin, method))
    expect(response.status).toBe(204)
    expect([...response.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([])
    expect(urls).toHaveLength(0)
  })

  it('is not rate limited, authenticated or IP-filtered (browsers send it without credentials)', async () => {
    const { send } = proxy(config)
    for (let i = 0; i < 5; i++) expect((await send('/web/a.txt', preflight('https://app.example.com'))).status).toBe(204)
  })

  it("echoes the requested headers when allowedHeaders is '*'; credentials echo the origin", async () => {
    const { send } = proxy(config)
    const response = await send('/creds/a', preflight('https://app.example.com', 'GET', { 'Access-Control-Request-Headers': 'x-custom, authorization' }))
    expect(response.headers.get('access-control-allow-headers')).toBe('x-custom, authorization')
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(response.headers.get('access-control-allow-credentials')).toBe('true')
  })

  it('a bucket without CORS answers OPTIONS with 204 + Allow and no CORS headers', async () => {
    const { send } = proxy(config)
    const response = await send('/plain/a', preflight('https://app.example.com'))
    expect(response.status).toBe(204)
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS')
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('origin matching', () => {
  it.each([
    ['https://app.example.com', true],
    ['https://APP.example.com', true],
    ['https://cdn.example.org', true],
    ['https://a.b.example.org', true],
    ['https://example.org', false],
    ['https://.example.org', false],
    ['http://cdn.example.org', false],
    ['https://cdn.example.org:8443', false],
    ['https://evil.com/.example.org', false],
    ['https://evil.com?.example.org', false],
    ['https://evil.com#.example.org', false],
    ['https://user@cdn.example.org', false],
    ['https://evilexample.org', false],
    ['https://app.example.com.evil.com', false],
    ['null', false],
  ])('%s → %s', async (origin, allowed) => {
    const { send } = proxy(config)
    const response = await send('/web/a.txt', { headers: { Origin: origin } })
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe(allowed ? origin : null)
    expect(response.headers.get('vary')).toMatch(/Origin/)
  })

  it("'*' answers with a literal *", async () => {
    const { send } = proxy(config)
    const response = await send('/any/a', { headers: { Origin: 'https://whoever.test' } })
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-allow-credentials')).toBeNull()
  })
})

describe('actual requests', () => {
  it('carry Allow-Origin, the exposed headers and Vary: Origin', async () => {
    const { send } = proxy(config, () => new Response('ok', { headers: { ETag: '"e"' } }))
    const response = await send('/web/a.txt', { headers: { Origin: 'https://app.example.com' } })
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(response.headers.get('access-control-expose-headers')).toBe('Content-Range, ETag, Content-Length, Accept-Ranges')
    expect(response.headers.get('vary')).toBe('Origin')
    expect(await response.text()).toBe('ok')
  })

  it('without Origin still get Vary: Origin (so a shared cache keeps them apart)', async () => {
    const { send } = proxy(config)
    const response = await send('/web/a.txt')
    expect(response.headers.get('vary')).toBe('Origin')
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })

  it.each([
    ['404 from S3', '/web/missing', () => new Response('<Error/>', { status: 404 }), 404, {}],
    ['403 from S3', '/web/secret', () => new Response('<Error/>', { status: 403 }), 403, {}],
    ['502 from S3', '/web/broken', () => new Response('<Error/>', { status: 500 }), 502, {}],
    ['405 (read-only)', '/web/a.txt', () => new Response('ok'), 405, { method: 'DELETE' }],
    ['404 (empty key)', '/web/', () => new Response('ok'), 404, {}],
    ['400 (key over 1024 bytes)', `/web/${'k'.repeat(1100)}`, () => new Response('ok'), 400, {}],
  ] as const)('errors carry CORS headers too: %s', async (_, path, reply, status, init) => {
    const { send } = proxy(config, reply)
    const response = await send(path, { ...init, headers: { Origin: 'https://app.example.com' } })
    expect(response.status).toBe(status)
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(response.headers.get('vary')).toBe('Origin')
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  })

  it('a 403 from the IP filter and a 429 from the rate limit carry CORS headers', async () => {
    const { send } = proxy(config)
    const denied = await send('/web/a', { headers: { Origin: 'https://app.example.com' } }, '10.6.6.6')
    expect(denied.status).toBe(403)
    expect(denied.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    await send('/web/a', {}, '10.0.0.9')
    const limited = await send('/web/a', { headers: { Origin: 'https://app.example.com' } }, '10.0.0.9')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(limited.headers.get('retry-after')).toBeTruthy()
  })

  it('a 401 from authentication carries CORS headers, and its preflight needs no token', async () => {
    const { send, urls } = proxy({
      buckets: [
        {
          name: 'private',
          pathPrefix: '/private',
          s3,
          auth: { jwt: { secret: 'a-secret-that-is-long-enough-for-hs256-0123456789' } },
          cors: { allowedOrigins: ['https://app.example.com'] },
        },
      ],
    })
    const pre = await send('/private/a', preflight('https://app.example.com', 'GET', { 'Access-Control-Request-Headers': 'authorization' }))
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/)
    const refused = await send('/private/a', { headers: { Origin: 'https://app.example.com' } })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(urls).toHaveLength(0)
  })

  it('decorates responses with immutable headers too (e.g. a redirect from a user middleware)', async () => {
    const resolved = resolveConfig(config)
    const handler = compose(cors(resolved), routing(resolved), async () => Response.redirect('https://elsewhere.test/', 302))
    const response = await handler(new Request('http://proxy.test/web/a', { headers: { Origin: 'https://app.example.com' } }))
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('https://elsewhere.test/')
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
  })

  it('a path outside every bucket gets no CORS headers', async () => {
    const { send } = proxy(config)
    const response = await send('/nowhere/a', { headers: { Origin: 'https://app.example.com' } })
    expect(response.status).toBe(404)
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('CORS config', () => {
  const issues = (cors: unknown) => {
    try {
      resolveConfig({ buckets: [{ name: 'a', pathPrefix: '/a', s3, cors }] } as never)
      return []
    } catch (error) {
      return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)
    }
  }

  it('refuses origins with a path, credentials with *, and write methods', () => {
    expect(issues({ allowedOrigins: ['https://app.example.com/'] })[0]).toMatch(/^buckets\[0\]\.cors\.allowedOrigins\[0\]: must be/)
    expect(issues({ allowedOrigins: ['*'], allowCredentials: true })).toEqual([
      "buckets[0].cors.allowCredentials: cannot be used with allowedOrigins '*'; list the origins",
    ])
    expect(issues({ allowedOrigins: ['*'], allowedMethods: ['GET', 'PUT'] })).toEqual([
      'buckets[0].cors.allowedMethods[1]: must be GET or HEAD (the proxy is read-only)',
    ])
    expect(issues({ allowedOrigins: [] })).toEqual(['buckets[0].cors.allowedOrigins: must list at least one origin'])
    expect(issues({ allowedOrigins: ['*'], allowedHeaders: ['bad header'] })).toEqual([
      'buckets[0].cors.allowedHeaders[0]: must be a header name',
    ])
  })

  it('applies defaults', () => {
    const resolved = resolveConfig({ buckets: [{ name: 'a', pathPrefix: '/a', s3, cors: { allowedOrigins: ['https://A.test'] } }] })
    expect(resolved.buckets[0]!.cors).toEqual({
      allowedOrigins: ['https://a.test'],
      allowedMethods: ['GET', 'HEAD'],
      allowedHeaders: ['Authorization', 'Range', 'If-Range', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'If-Unmodified-Since'],
      exposedHeaders: ['Content-Range', 'ETag', 'Content-Length', 'Accept-Ranges'],
      allowCredentials: false,
    })
    expect(
      resolveConfig({ buckets: [{ name: 'a', pathPrefix: '/a', s3, cors: { enabled: false, allowedOrigins: ['*'] } }] }).buckets[0]!.cors,
    ).toBeUndefined()
  })
})
