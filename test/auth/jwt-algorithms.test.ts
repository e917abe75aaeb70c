/**
 * Every algorithm family through createYatagarasu with plain Requests, and every way a
 * token can be wrong: expiry, nbf and clock tolerance, issuer, audience, tampering,
 * wrong key, `alg: none`, algorithm confusion, an algorithm not configured.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { createYatagarasu, type FetchHandler, type JwtAlgorithm, type JwtConfig } from '../../src/index.js'
import {
  errorOf,
  fakeS3,
  HS_SECRET,
  keyPair,
  memoryLogger,
  nowSeconds,
  privateKeyFor,
  S3,
  secretBytes,
  sign,
  tamper,
  unsecuredToken,
  type KeyPair,
} from '../support/jwt-fixtures.js'

function proxy(jwt: JwtConfig) {
  const s3 = fakeS3()
  const handler = createYatagarasu(
    { buckets: [{ name: 'private', pathPrefix: '/p', s3: S3, auth: { jwt } }] },
    { fetch: s3.fetch, logger: memoryLogger() },
  )
  return { s3, handler }
}

function get(handler: FetchHandler, token?: string) {
  return handler(
    new Request('http://proxy.test/p/file.txt', token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } }),
  )
}

const ASYMMETRIC: JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']
const keys = new Map<string, KeyPair>()

beforeAll(async () => {
  for (const alg of ASYMMETRIC) keys.set(alg, await keyPair(alg))
})

describe('each algorithm family verifies through createYatagarasu', () => {
  it.each(['HS256', 'HS384', 'HS512'] as const)('%s with a shared secret', async (alg) => {
    const { handler, s3 } = proxy({ secret: HS_SECRET, algorithm: alg })
    const ok = await get(handler, await sign({ sub: 'ada' }, secretBytes(), alg))
    expect(ok.status).toBe(200)
    expect(await ok.text()).toBe('ok')
    expect(s3.calls).toHaveLength(1)
  })

  it.each(ASYMMETRIC)('%s with an SPKI PEM public key', async (alg) => {
    const pair = keys.get(alg)!
    const { handler } = proxy({ publicKey: pair.pem, algorithm: alg })
    expect((await get(handler, await sign({ sub: 'ada' }, pair.privateKey, alg))).status).toBe(200)
  })

  it.each(['RS256', 'ES256', 'EdDSA'] as const)('%s with a JWK, as an object and as JSON text', async (alg) => {
    const pair = keys.get(alg)!
    const token = await sign({ sub: 'ada' }, pair.privateKey, alg)
    expect((await get(proxy({ publicKey: pair.jwk as never, algorithm: alg }).handler, token)).status).toBe(200)
    expect((await get(proxy({ publicKey: JSON.stringify(pair.jwk), algorithm: alg }).handler, token)).status).toBe(200)
  })

  it('Ed25519 (RFC 9864) is accepted when configured', async () => {
    const pair = keys.get('EdDSA')!
    const { handler } = proxy({ publicKey: pair.pem, algorithm: 'Ed25519' })
    expect((await get(handler, await sign({}, pair.privateKey, 'Ed25519'))).status).toBe(200)
  })

  it('several algorithms with one RSA key: RS256 and PS256 both pass, RS512 does not', async () => {
    const pair = keys.get('RS256')!
    const { handler } = proxy({ publicKey: pair.pem, algorithms: ['RS256', 'PS256'] })
    expect((await get(handler, await sign({}, pair.privateKey, 'RS256'))).status).toBe(200)
    expect((await get(handler, await sign({}, await privateKeyFor(pair, 'PS256'), 'PS256'))).status).toBe(200)
    const refused = await get(handler, await sign({}, await privateKeyFor(pair, 'RS512'), 'RS512'))
    expect(refused.status).toBe(401)
    expect((await errorOf(refused)).message).toBe('algorithm not allowed')
  })

  it('a secret and a public key side by side: each algorithm uses its own key', async () => {
    const pair = keys.get('ES256')!
    const { handler } = proxy({ secret: HS_SECRET, publicKey: pair.pem, algorithms: ['HS256', 'ES256'] })
    expect((await get(handler, await sign({}, secretBytes(), 'HS256'))).status).toBe(200)
    expect((await get(handler, await sign({}, pair.privateKey, 'ES256'))).status).toBe(200)
  })

  it('infers the algorithm when none is configured: HS256 for a secret, the key type for a PEM', async () => {
    expect((await get(proxy({ secret: HS_SECRET }).handler, await sign({}, secretBytes(), 'HS256'))).status).toBe(200)
    const es = keys.get('ES384')!
    const { handler } = proxy({ publicKey: es.pem })
    expect((await get(handler, await sign({}, es.privateKey, 'ES384'))).status).toBe(200)
  })
})

describe('no token', () => {
  it('is 401 with a bare Bearer challenge naming the bucket as realm, and nothing reaches S3', async () => {
    const { handler, s3 } = proxy({ secret: HS_SECRET, algorithm: 'HS256' })
    const response = await get(handler)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="private"')
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    const error = await errorOf(response)
    expect(error).toMatchObject({ status: 401, code: 'Unauthorized', message: 'authentication required' })
    expect(s3.calls).toHaveLength(0)
  })

  it('HEAD gets the same 401 with no body', async () => {
    const { handler } = proxy({ secret: HS_SECRET })
    const response = await handler(new Request('http://proxy.test/p/file.txt', { method: 'HEAD' }))
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="private"')
    expect(await response.text()).toBe('')
  })
})

describe('bad tokens are 401 invalid_token, with the kind of failure and never the token', () => {
  let hs: FetchHandler
  let s3: ReturnType<typeof fakeS3>
  beforeAll(() => {
    ;({ handler: hs, s3 } = proxy({ secret: HS_SECRET, algorithm: 'HS256', issuer: 'https://issuer.test', audience: ['cdn', 'web'] }))
  })
  const good = { iss: 'https://issuer.test', aud: 'cdn', sub: 'ada' }

  async function expectRefused(token: string, description: string) {
    const before = s3.calls.length
    const response = await get(hs, token)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="private", error="invalid_token", error_description="${description}"`,
    )
    const body = await response.text()
    expect(JSON.parse(body).error).toMatchObject({ code: 'Unauthorized', message: description })
    expect(body).not.toContain(token)
    expect(body).not.toContain(HS_SECRET)
    expect(s3.calls.length).toBe(before)
  }

  it('accepts the good token (control)', async () => {
    expect((await get(hs, await sign(good, secretBytes(), 'HS256'))).status).toBe(200)
  })

  it('expired', async () => {
    await expectRefused(await sign({ ...good, exp: nowSeconds() - 60 }, secretBytes(), 'HS256'), 'token expired')
  })

  it('not yet valid', async () => {
    await expectRefused(await sign({ ...good, nbf: nowSeconds() + 60 }, secretBytes(), 'HS256'), 'token not yet valid')
  })

  it('wrong issuer, and no issuer', async () => {
    await expectRefused(await sign({ ...good, iss: 'https://evil.test' }, secretBytes(), 'HS256'), 'issuer not accepted')
    await expectRefused(await sign({ aud: 'cdn' }, secretBytes(), 'HS256'), 'issuer not accepted')
  })

  it('wrong audience, and no audience; any listed audience passes', async () => {
    await expectRefused(await sign({ ...good, aud: 'other' }, secretBytes(), 'HS256'), 'audience not accepted')
    await expectRefused(await sign({ iss: good.iss }, secretBytes(), 'HS256'), 'audience not accepted')
    expect((await get(hs, await sign({ ...good, aud: ['x', 'web'] }, secretBytes(), 'HS256'))).status).toBe(200)
  })

  it('tampered payload', async () => {
    const token = await sign({ ...good, role: 'reader' }, secretBytes(), 'HS256')
    await expectRefused(tamper(token, { ...good, role: 'admin' }), 'signature invalid')
  })

  it('signed with another secret', async () => {
    await expectRefused(await sign(good, secretBytes('another-secret-of-sufficient-length-0123456789'), 'HS256'), 'signature invalid')
  })

  it('alg: none', async () => {
    await expectRefused(unsecuredToken(good), 'algorithm not allowed')
  })

  it('an algorithm not in the configured list (HS512 against HS256)', async () => {
    await expectRefused(await sign(good, secretBytes(), 'HS512'), 'algorithm not allowed')
  })

  it('malformed: not three base64url parts, or a JWE', async () => {
    await expectRefused('not-a-jwt', 'malformed token')
    await expectRefused('a.b.c.d.e', 'malformed token')
    await expectRefused('eyJhbGciOiJIUzI1NiJ9.@@@.x', 'malformed token')
    await expectRefused('eyJub3QiOiJqc29uIn0.e30.AAAA', 'malformed token') // header without alg
  })
})

describe('expiry and clock tolerance', () => {
  it('default tolerance is 5 seconds', async () => {
    const { handler } = proxy({ secret: HS_SECRET })
    expect((await get(handler, await sign({ exp: nowSeconds() - 2 }, secretBytes(), 'HS256'))).status).toBe(200)
    expect((await get(handler, await sign({ nbf: nowSeconds() + 2 }, secretBytes(), 'HS256'))).status).toBe(200)
    expect((await get(handler, await sign({ exp: nowSeconds() - 30 }, secretBytes(), 'HS256'))).status).toBe(401)
  })

  it('is configurable: 0 refuses a token that expired 2 s ago, 120 accepts one that expired a minute ago', async () => {
    const strict = proxy({ secret: HS_SECRET, clockTolerance: 0 }).handler
    expect((await get(strict, await sign({ exp: nowSeconds() - 2 }, secretBytes(), 'HS256'))).status).toBe(401)
    expect((await get(strict, await sign({ nbf: nowSeconds() + 2 }, secretBytes(), 'HS256'))).status).toBe(401)
    const lenient = proxy({ secret: HS_SECRET, clockTolerance: 120 }).handler
    expect((await get(lenient, await sign({ exp: nowSeconds() - 60 }, secretBytes(), 'HS256'))).status).toBe(200)
    expect((await get(lenient, await sign({ nbf: nowSeconds() + 60 }, secretBytes(), 'HS256'))).status).toBe(200)
  })

  it('a token with a non-numeric exp is refused', async () => {
    const { handler } = proxy({ secret: HS_SECRET })
    const response = await get(handler, await sign({ exp: 'tomorrow' as never }, secretBytes(), 'HS256'))
    expect(response.status).toBe(401)
    expect((await errorOf(response)).message).toBe('token invalid')
  })
})

describe('asymmetric keys', () => {
  it('a token signed by another key pair is refused', async () => {
    const { handler } = proxy({ publicKey: keys.get('RS256')!.pem, algorithm: 'RS256' })
    const other = await keyPair('RS256')
    const response = await get(handler, await sign({}, other.privateKey, 'RS256'))
    expect(response.status).toBe(401)
    expect((await errorOf(response)).message).toBe('signature invalid')
  })

  it('algorithm confusion: an HS256 token whose secret is the RSA public key PEM is refused by an RS256 bucket', async () => {
    const pair = keys.get('RS256')!
    const { handler, s3 } = proxy({ publicKey: pair.pem, algorithm: 'RS256' })
    const forged = await sign({ sub: 'mallory', role: 'admin' }, new TextEncoder().encode(pair.pem), 'HS256')
    const response = await get(handler, forged)
    expect(response.status).toBe(401)
    expect((await errorOf(response)).message).toBe('algorithm not allowed')
    // Same with the JWK's JSON as the "secret".
    const forged2 = await sign({}, new TextEncoder().encode(JSON.stringify(pair.jwk)), 'HS256')
    expect((await get(handler, forged2)).status).toBe(401)
    expect(s3.calls).toHaveLength(0)
  })

  it('alg: none against an asymmetric bucket', async () => {
    const { handler } = proxy({ publicKey: keys.get('ES256')!.pem, algorithm: 'ES256' })
    const response = await get(handler, unsecuredToken({ sub: 'mallory' }))
    expect(response.status).toBe(401)
    expect((await errorOf(response)).message).toBe('algorithm not allowed')
  })

  it('ES256 token against an ES384 bucket (same family, other curve) is refused', async () => {
    const { handler } = proxy({ publicKey: keys.get('ES384')!.pem, algorithm: 'ES384' })
    expect((await get(handler, await sign({}, keys.get('ES256')!.privateKey, 'ES256'))).status).toBe(401)
  })

  it('the public key is imported once, not per request', async () => {
    const pair = keys.get('PS256')!
    const { handler } = proxy({ publicKey: pair.pem, algorithm: 'PS256' })
    const token = await sign({}, pair.privateKey, 'PS256')
    const subtle = crypto.subtle
    const importKey = subtle.importKey.bind(subtle)
    let imports = 0
    subtle.importKey = ((...args: Parameters<typeof importKey>) => {
      if (args[0] === 'spki') imports++ // (S3 signing imports HMAC keys of its own)
      return importKey(...args)
    }) as typeof subtle.importKey
    try {
      for (let i = 0; i < 5; i++) expect((await get(handler, token)).status).toBe(200)
      await Promise.all(Array.from({ length: 5 }, async () => expect((await get(handler, token)).status).toBe(200)))
    } finally {
      subtle.importKey = importKey
    }
    expect(imports).toBe(1)
  })
})

describe('a key the config check accepts but Web Crypto cannot import', () => {
  it('is a 500 for the request (a server fault, not the token), logged once, never a 401', async () => {
    // A P-256 SPKI whose point is moved off the curve: well-formed DER, unusable key.
    const der = Buffer.from(keys.get('ES256')!.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
    der.writeUInt8(der.readUInt8(der.length - 1) ^ 0x01, der.length - 1)
    const pem = `-----BEGIN PUBLIC KEY-----\n${der.toString('base64')}\n-----END PUBLIC KEY-----`
    const logger = memoryLogger()
    const s3 = fakeS3()
    const handler = createYatagarasu(
      { buckets: [{ name: 'private', pathPrefix: '/p', s3: S3, auth: { jwt: { publicKey: pem, algorithm: 'ES256' } } }] },
      { fetch: s3.fetch, logger },
    )
    const token = await sign({}, keys.get('ES256')!.privateKey, 'ES256')
    for (let i = 0; i < 3; i++) {
      const response = await get(handler, token)
      expect(response.status).toBe(500)
      expect((await errorOf(response)).code).toBe('InternalError')
    }
    expect(logger.entries.filter((entry) => entry.level === 'error')).toHaveLength(1)
    expect(logger.entries[0]?.message).toBe('JWT key import failed')
    expect(s3.calls).toHaveLength(0)
  })
})

describe('verified claims', () => {
  it('are on ctx.claims for later middlewares', async () => {
    const { compose, jwtAuth, resolveConfig, routing } = await import('../../src/index.js')
    const config = resolveConfig({
      buckets: [{ name: 'private', pathPrefix: '/p', s3: S3, auth: { jwt: { secret: HS_SECRET } } }],
    })
    const handler = compose(routing(config), jwtAuth(config, { logger: memoryLogger() }), async (ctx) =>
      Response.json(ctx.claims),
    )
    const response = await get(handler, await sign({ sub: 'ada', realm_access: { roles: ['x'] } }, secretBytes(), 'HS256'))
    expect(await response.json()).toEqual({ sub: 'ada', realm_access: { roles: ['x'] } })
  })
})
