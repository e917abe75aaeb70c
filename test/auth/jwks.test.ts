/**
 * A JWKS served by a real local HTTP server: lazy fetch and caching, one fetch per burst,
 * key rotation picked up after the 2 s cooldown (on an injected clock), unknown kids can't make us hammer the issuer, an
 * unreachable or broken JWKS is a logged 401 (never a 500), and a failed refresh keeps
 * the keys already known.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRemoteJwks, JwksUnavailableError } from '../../src/auth/remote-jwks.js'
import { compose, createYatagarasu, isYatagarasuError, jwtAuth, resolveConfig, routing, type JwtConfig } from '../../src/index.js'
import { errorOf, fakeS3, keyPair, memoryLogger, S3, sign, type KeyPair } from '../support/jwt-fixtures.js'

interface JwksServer {
  url: string
  keys: Array<Record<string, unknown>>
  status: number
  body?: string
  /** While set, answers wait for it (the fetch stays in flight until the test says). */
  gate: Promise<void> | undefined
  /** Called as each request arrives. */
  onRequest: (() => void) | undefined
  fetches: number
  requestHeaders: http.IncomingHttpHeaders[]
  close(): Promise<void>
}

async function startJwksServer(): Promise<JwksServer> {
  const server = http.createServer((req, res) => {
    state.fetches++
    state.requestHeaders.push(req.headers)
    state.onRequest?.()
    void (state.gate ?? Promise.resolve()).then(() => {
      res.writeHead(state.status, { 'Content-Type': 'application/jwk-set+json' })
      res.end(state.body ?? JSON.stringify({ keys: state.keys }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const state: JwksServer = {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    keys: [],
    status: 200,
    gate: undefined,
    onRequest: undefined,
    fetches: 0,
    requestHeaders: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
  return state
}

let jwks: JwksServer
let k1: KeyPair
let k2: KeyPair
let es: KeyPair

const publish = (...pairs: Array<[KeyPair, string]>) => {
  jwks.keys = pairs.map(([pair, kid]) => ({ ...pair.jwk, kid, alg: pair.alg, use: 'sig' }))
}

beforeAll(async () => {
  jwks = await startJwksServer()
  k1 = await keyPair('RS256')
  k2 = await keyPair('RS256')
  es = await keyPair('ES256')
})
afterAll(() => jwks.close())
beforeEach(() => {
  jwks.status = 200
  delete jwks.body
  jwks.gate = undefined
  jwks.onRequest = undefined
  jwks.fetches = 0
  jwks.requestHeaders = []
  publish([k1, 'k1'])
})

function proxy(jwt: Partial<JwtConfig> = {}) {
  const logger = memoryLogger()
  const s3 = fakeS3()
  const handler = createYatagarasu(
    {
      buckets: [
        { name: 'oidc', pathPrefix: '/o', s3: S3, auth: { jwt: { jwksUrl: jwks.url, algorithms: ['RS256', 'ES256'], ...jwt } } },
      ],
    },
    { fetch: s3.fetch, logger },
  )
  const get = (token: string) =>
    handler(new Request('http://proxy.test/o/file', { headers: { Authorization: `Bearer ${token}` } }))
  return { handler, get, logger, s3 }
}

const tokenFor = (pair: KeyPair, kid: string | undefined, payload: Record<string, unknown> = { sub: 'ada' }) =>
  sign(payload, pair.privateKey, pair.alg, kid === undefined ? {} : { kid })

/**
 * The JWT middleware alone on a clock the test moves: the key set's cooldown (2 s) and
 * max age pass when the test says, not by waiting.
 */
function clockedProxy(jwt: Partial<JwtConfig> = {}) {
  let clock = Date.UTC(2026, 0, 1)
  const logger = memoryLogger()
  const config = resolveConfig({
    buckets: [{ name: 'oidc', pathPrefix: '/o', s3: S3, auth: { jwt: { jwksUrl: jwks.url, algorithms: ['RS256', 'ES256'], ...jwt } } }],
  })
  const handler = compose(routing(config), jwtAuth(config, { logger, now: () => clock }), async () => new Response('ok'))
  const get = async (token: string) =>
    (await handler(new Request('http://proxy.test/o/f', { headers: { Authorization: `Bearer ${token}` } }))).status
  return {
    get,
    logger,
    advance(ms: number) {
      clock += ms
    },
  }
}

describe('fetching and caching', () => {
  it('is lazy: nothing is fetched until a token needs it, then the set is reused', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch')
    const { get } = proxy()
    await new Promise((resolve) => setImmediate(resolve)) // anything started eagerly has begun by now
    expect(fetchSpy.mock.calls.filter(([input]) => String(input).startsWith(jwks.url))).toHaveLength(0)
    fetchSpy.mockRestore()
    expect(jwks.fetches).toBe(0)
    const token = await tokenFor(k1, 'k1')
    for (let i = 0; i < 5; i++) expect((await get(token)).status).toBe(200)
    expect(jwks.fetches).toBe(1)
    // The issuer never sees the client's token.
    expect(jwks.requestHeaders[0]?.authorization).toBeUndefined()
  })

  it('a burst of concurrent requests on a cold cache causes exactly one fetch', async () => {
    let release!: () => void
    jwks.gate = new Promise((resolve) => (release = resolve))
    // The set is sent only once the fetch has reached the issuer, after all 50 requests began.
    jwks.onRequest = () => setImmediate(release)
    const { get } = proxy()
    const token = await tokenFor(k1, 'k1')
    const statuses = await Promise.all(Array.from({ length: 50 }, async () => (await get(token)).status))
    expect(statuses.every((status) => status === 200)).toBe(true)
    expect(jwks.fetches).toBe(1)
  })

  it('verifies ES256 and RS256 keys from the same set', async () => {
    publish([k1, 'k1'], [es, 'e1'])
    const { get } = proxy()
    expect((await get(await tokenFor(k1, 'k1'))).status).toBe(200)
    expect((await get(await tokenFor(es, 'e1'))).status).toBe(200)
  })

  it('a token without kid is tried against each key of its type', async () => {
    publish([k1, 'k1'], [k2, 'k2'])
    const { get } = proxy()
    expect((await get(await tokenFor(k2, undefined))).status).toBe(200)
    const stranger = await keyPair('RS256')
    const refused = await get(await tokenFor(stranger, undefined))
    expect(refused.status).toBe(401)
    expect((await errorOf(refused)).message).toBe('signature invalid')
  })

  it('a key from the set still only verifies the configured algorithms', async () => {
    publish([k1, 'k1'], [es, 'e1'])
    const { get } = proxy({ algorithms: ['RS256'] })
    const refused = await get(await tokenFor(es, 'e1'))
    expect(refused.status).toBe(401)
    expect((await errorOf(refused)).message).toBe('algorithm not allowed')
  })
})

describe('rotation', () => {
  it('a newly published kid is accepted once the 2 s cooldown since the last fetch has passed', async () => {
    const { get, advance } = clockedProxy()
    expect(await get(await tokenFor(k1, 'k1'))).toBe(200) // the set is now cached
    expect(jwks.fetches).toBe(1)
    publish([k1, 'k1'], [k2, 'k2'])
    const token = await tokenFor(k2, 'k2')
    advance(1_999)
    expect(await get(token)).toBe(401) // within the cooldown: not refetched for an unknown kid
    expect(jwks.fetches).toBe(1)
    advance(1)
    expect(await get(token)).toBe(200) // refetched, the new key found
    expect(jwks.fetches).toBe(2)
    // The old key keeps working while it is still published.
    expect(await get(await tokenFor(k1, 'k1'))).toBe(200)
    expect(jwks.fetches).toBe(2)
  })

  it('tokens with made-up kids cannot make the proxy hammer the issuer', async () => {
    const { get } = proxy()
    expect((await get(await tokenFor(k1, 'k1'))).status).toBe(200)
    const responses = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => get(await tokenFor(k1, `made-up-${i}`))),
    )
    for (const response of responses) {
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toContain('error_description="signing key not found"')
    }
    expect(jwks.fetches).toBeLessThanOrEqual(2)
  })
})

describe('failures are 401 and logged, never 500', () => {
  it('an unreachable JWKS URL', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as AddressInfo
    await new Promise<void>((resolve) => closed.close(() => resolve()))

    const { get, logger, s3 } = proxy({ jwksUrl: `http://127.0.0.1:${port}/jwks.json?tenant=t1` })
    const token = await tokenFor(k1, 'k1')
    const responses = await Promise.all(Array.from({ length: 10 }, () => get(token)))
    for (const response of responses) {
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toBe(
        'Bearer realm="oidc", error="invalid_token", error_description="signing keys unavailable"',
      )
      expect((await errorOf(response)).message).toBe('signing keys unavailable')
    }
    expect(s3.calls).toHaveLength(0)
    const errors = logger.entries.filter((entry) => entry.level === 'error')
    expect(errors).toHaveLength(1) // one failed fetch for the whole burst
    expect(errors[0]?.fields).toMatchObject({ bucket: 'oidc', jwksUrl: `http://127.0.0.1:${port}/jwks.json` })
    expect(JSON.stringify(logger.entries)).not.toContain(token)
    expect(JSON.stringify(logger.entries)).not.toContain(token.split('.')[2])
  })

  it('a JWKS endpoint answering 500, then recovering after the cooldown', async () => {
    jwks.status = 500
    const { get, logger, advance } = clockedProxy()
    const token = await tokenFor(k1, 'k1')
    expect(await get(token)).toBe(401)
    expect(logger.entries.some((entry) => entry.level === 'error' && entry.message.startsWith('JWKS fetch failed'))).toBe(true)
    jwks.status = 200
    expect(await get(token)).toBe(401) // a failed fetch is not retried within the cooldown
    expect(jwks.fetches).toBe(1)
    advance(2_000)
    expect(await get(token)).toBe(200)
    expect(jwks.fetches).toBe(2)
  })

  it('a response that is not a key set', async () => {
    jwks.body = '<html>oops</html>'
    const { get, logger } = proxy()
    const response = await get(await tokenFor(k1, 'k1'))
    expect(response.status).toBe(401)
    expect(logger.entries.filter((entry) => entry.level === 'error')).toHaveLength(1)
    jwks.body = JSON.stringify({ keys: 'nope' })
    const second = proxy()
    expect((await second.get(await tokenFor(k1, 'k1'))).status).toBe(401)
  })
})

describe('refresh', () => {
  it('refetches after the max age, and keeps the known keys (with a warning) when the refresh fails', async () => {
    let clock = Date.now()
    const logger = memoryLogger()
    const config = resolveConfig({
      buckets: [{ name: 'oidc', pathPrefix: '/o', s3: S3, auth: { jwt: { jwksUrl: jwks.url, algorithm: 'RS256' } } }],
    })
    const handler = compose(routing(config), jwtAuth(config, { logger, now: () => clock }), async () => new Response('ok'))
    const get = async (token: string) =>
      (await handler(new Request('http://proxy.test/o/f', { headers: { Authorization: `Bearer ${token}` } }))).status
    const token = await tokenFor(k1, 'k1')

    expect(await get(token)).toBe(200)
    expect(jwks.fetches).toBe(1)
    clock += 11 * 60_000 // past the 10-minute max age
    expect(await get(token)).toBe(200)
    expect(jwks.fetches).toBe(2)

    clock += 11 * 60_000
    jwks.status = 503
    expect(await get(token)).toBe(200) // stale keys keep working during an issuer outage
    expect(jwks.fetches).toBe(3)
    expect(logger.entries.some((entry) => entry.level === 'warn' && entry.message.startsWith('JWKS refresh failed'))).toBe(true)
  })
})

describe('bounded reads over real HTTP', () => {
  /** An issuer that streams (chunked, no Content-Length) until the client hangs up; `closed` resolves with the bytes it got out. */
  async function hostileIssuer(send: (res: http.ServerResponse) => void) {
    let closed!: (bytes: number) => void
    const done = new Promise<number>((resolve) => (closed = resolve))
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.on('close', () => closed(res.socket?.bytesWritten ?? req.socket.bytesWritten))
      send(res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return {
      url: `http://127.0.0.1:${port}/jwks.json`,
      closed: done,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => server.closeAllConnections()),
    }
  }

  it('an endpoint streaming past 512 KiB without Content-Length is cut there, its connection closed', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    const issuer = await hostileIssuer((res) => {
      // As fast as the client reads, up to 1 GiB: what held 1.1 GB in one fetch before.
      let sent = 0
      const pump = () => {
        while (sent < 1024 ** 3 && !res.destroyed) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end()
      }
      pump()
    })
    try {
      const errors: unknown[] = []
      const getKey = createRemoteJwks(issuer.url, { onFetchError: (error) => errors.push(error) })
      await expect(getKey({ alg: 'RS256', kid: 'k1' }, { payload: '', signature: '' })).rejects.toBeInstanceOf(JwksUnavailableError)
      expect(isYatagarasuError(errors[0], 'RemoteDocumentTooLarge')).toBe(true)
      const written = await issuer.closed
      // The cap plus what socket buffers hold in flight: megabytes, not the gigabyte on offer.
      expect(written).toBeLessThan(32 * 1024 * 1024)
    } finally {
      await issuer.close()
    }
  })

  it('an endpoint trickling its body fails at the deadline, which covers the body', async () => {
    const issuer = await hostileIssuer((res) => {
      res.write('{"keys":[')
      const timer = setInterval(() => res.write(' '), 20)
      res.on('close', () => clearInterval(timer))
    })
    try {
      const errors: unknown[] = []
      // Headers come at once; only a deadline that covers the body can end this.
      const getKey = createRemoteJwks(issuer.url, { timeoutMs: 300, onFetchError: (error) => errors.push(error) })
      await expect(getKey({ alg: 'RS256', kid: 'k1' }, { payload: '', signature: '' })).rejects.toBeInstanceOf(JwksUnavailableError)
      expect(isYatagarasuError(errors[0], 'RemoteDocumentTimeout')).toBe(true)
      await issuer.closed
    } finally {
      await issuer.close()
    }
  })
})
