/**
 * The auth block is checked at creation: the key source fits the algorithms, a PEM or
 * JWK is of a type that can verify them; errors name the field path and never contain a
 * secret; the resolved config prints the secret as ***; enabled: false is public.
 */
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ConfigError, createYatagarasu, parseConfig, resolveConfig } from '../../src/index.js'
import { fakeS3, HS_SECRET, memoryLogger, S3 } from '../support/jwt-fixtures.js'

const pem = (type: string, options: object = {}) =>
  (generateKeyPairSync as (t: string, o: object) => { publicKey: { export(o: object): string } })(type, options).publicKey.export({
    type: 'spki',
    format: 'pem',
  })
const RSA_PEM = pem('rsa', { modulusLength: 2048 })
const EC_P256_PEM = pem('ec', { namedCurve: 'P-256' })
const ED25519_PEM = pem('ed25519')

function configIssues(jwt: unknown, extra: object = {}) {
  try {
    resolveConfig({ buckets: [{ name: 'a', pathPrefix: '/a', s3: S3, auth: { jwt, ...extra } }] } as never)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    const configError = error as ConfigError
    expect(configError.message).not.toContain(HS_SECRET)
    return configError.issues
  }
  throw new Error('expected a ConfigError')
}

const P = 'buckets[0].auth.jwt'

describe('key source and algorithms must fit', () => {
  it('an RSA key with ES256 names publicKey', () => {
    expect(configIssues({ publicKey: RSA_PEM, algorithm: 'ES256' })).toEqual([
      { path: `${P}.publicKey`, message: 'an RSA key cannot verify ES256' },
    ])
  })

  it('an EC P-256 key with ES384 or RS256; an Ed25519 key with ES256', () => {
    expect(configIssues({ publicKey: EC_P256_PEM, algorithms: ['ES384', 'RS256'] })).toEqual([
      { path: `${P}.publicKey`, message: 'an EC P-256 key cannot verify ES384' },
      { path: `${P}.publicKey`, message: 'an EC P-256 key cannot verify RS256' },
    ])
    expect(configIssues({ publicKey: ED25519_PEM, algorithm: 'ES256' })[0]?.message).toBe('an OKP Ed25519 key cannot verify ES256')
  })

  it('a secret with RS256 only; HS256 without a secret', () => {
    expect(configIssues({ secret: HS_SECRET, algorithm: 'RS256' })).toEqual([
      { path: `${P}.secret`, message: 'is only used by HS256, HS384 and HS512, and none of them is accepted' },
      { path: `${P}.algorithm`, message: 'RS256 needs a publicKey or a jwksUrl' },
    ])
    expect(configIssues({ publicKey: RSA_PEM, algorithms: ['HS256', 'RS256'] })).toEqual([
      { path: `${P}.algorithms`, message: 'HS256 needs a secret' },
    ])
  })

  it('a public key or JWKS with only HMAC algorithms', () => {
    expect(configIssues({ secret: HS_SECRET, publicKey: RSA_PEM, algorithm: 'HS256' })).toEqual([
      { path: `${P}.publicKey`, message: 'is only used by asymmetric algorithms, and none of them is accepted' },
    ])
    expect(configIssues({ secret: HS_SECRET, jwksUrl: 'https://issuer.test/jwks', algorithm: 'HS256' })).toEqual([
      { path: `${P}.jwksUrl`, message: 'is only used by asymmetric algorithms, and none of them is accepted' },
    ])
  })

  it('no key source at all; both publicKey and jwksUrl; algorithm and algorithms together', () => {
    expect(configIssues({ algorithm: 'HS256' })).toEqual([{ path: P, message: 'one of secret, publicKey or jwksUrl is required' }])
    expect(configIssues({ publicKey: RSA_PEM, jwksUrl: 'https://issuer.test/jwks', algorithm: 'RS256' })).toEqual([
      { path: `${P}.jwksUrl`, message: 'give either publicKey or jwksUrl, not both' },
    ])
    expect(configIssues({ secret: HS_SECRET, algorithm: 'HS256', algorithms: ['HS256'] })).toEqual([
      { path: `${P}.algorithms`, message: 'give either algorithm or algorithms, not both' },
    ])
    expect(configIssues({ secret: HS_SECRET, jwksUrl: 'https://issuer.test/jwks' })).toEqual([
      { path: `${P}.algorithms`, message: 'required when more than one of secret, publicKey and jwksUrl is given' },
    ])
  })

  it('unknown algorithms and none are refused', () => {
    expect(configIssues({ secret: HS_SECRET, algorithm: 'none' })[0]).toEqual({
      path: `${P}.algorithm`,
      message: 'must be one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519',
    })
    expect(configIssues({ secret: HS_SECRET, algorithms: ['HS256', 'HS1'] })[0]?.path).toBe(`${P}.algorithms[1]`)
    expect(configIssues({ secret: HS_SECRET, algorithms: [] })[0]).toEqual({ path: `${P}.algorithms`, message: 'must not be empty' })
  })
})

describe('public keys are read at creation', () => {
  const keyIssue = (publicKey: unknown, algorithm = 'RS256') => configIssues({ publicKey, algorithm })[0]

  it('refuses private keys, PKCS#1, certificates and garbage with a message that names the problem', () => {
    const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    expect(keyIssue(privateKey)).toEqual({ path: `${P}.publicKey`, message: 'is a private key; give the public key (SPKI PEM or public JWK)' })
    expect(keyIssue(privateKey)?.message).not.toContain(privateKey.slice(40, 80))
    const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'pkcs1', format: 'pem' }) as string
    expect(keyIssue(pkcs1)?.message).toMatch(/PKCS#1/)
    expect(keyIssue('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----')?.message).toMatch(/certificate/)
    expect(keyIssue('hello')?.message).toMatch(/expected an SPKI PEM/)
    expect(keyIssue('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')?.message).toBe('is not a well-formed SPKI public key')
    expect(keyIssue('-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----')?.message).toMatch(/expected an SPKI PEM/)
  })

  it('refuses short RSA keys, RSA-PSS-only keys, other curves and key types', () => {
    expect(keyIssue(pem('rsa', { modulusLength: 1024 }))?.message).toBe('RSA keys must have at least 2048 bits')
    expect(keyIssue(pem('rsa-pss', { modulusLength: 2048 }), 'PS256')?.message).toMatch(/RSASSA-PSS/)
    expect(keyIssue(pem('ec', { namedCurve: 'secp256k1' }), 'ES256')?.message).toMatch(/unsupported elliptic curve/)
    expect(keyIssue(pem('ed448'), 'EdDSA')?.message).toMatch(/unsupported key type/)
    expect(keyIssue(pem('x25519'), 'EdDSA')?.message).toMatch(/unsupported key type/)
  })

  it('JWKs: private, symmetric, incomplete, wrong use, or for another alg', () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>
    expect(keyIssue({ ...jwk, d: 'c2VjcmV0' }, 'ES256')?.message).toBe('is a private JWK; give the public key only')
    expect(keyIssue({ kty: 'oct', k: 'c2VjcmV0' }, 'HS256')?.message).toMatch(/symmetric JWK/)
    expect(keyIssue({ ...jwk, y: undefined }, 'ES256')?.message).toBe('an EC JWK needs x and y')
    expect(keyIssue({ ...jwk, use: 'enc' }, 'ES256')?.message).toBe("the JWK's use is not 'sig'")
    expect(keyIssue({ ...jwk, alg: 'ES384' }, 'ES256')?.message).toBe('the JWK is for ES384 and cannot verify ES256')
    expect(keyIssue('{"kty":', 'ES256')?.message).toBe('is not valid JSON')
    expect(keyIssue({ kty: 'RSA', n: 'AQAB', e: 'AQAB' })?.message).toBe('RSA keys must have at least 2048 bits')
  })

  it('a JWK with alg is accepted for that alg, and the alg is inferred from it', () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>
    const resolved = resolveConfig({
      buckets: [{ name: 'a', pathPrefix: '/a', s3: S3, auth: { jwt: { publicKey: { ...jwk, kty: 'EC', alg: 'ES256' } } } }],
    })
    expect(resolved.buckets[0]?.auth?.jwt.algorithms).toEqual(['ES256'])
  })
})

describe('other fields', () => {
  it('token sources: unknown type, header without a name or with a bad one, empty list', () => {
    expect(
      configIssues({
        secret: HS_SECRET,
        tokenSources: [{ type: 'cookie' }, { type: 'header' }, { type: 'header', name: 'X Token' }, { type: 'query', name: '' }],
      }),
    ).toEqual([
      { path: `${P}.tokenSources[0].type`, message: "must be 'bearer', 'header' or 'query'" },
      { path: `${P}.tokenSources[1].name`, message: 'required' },
      { path: `${P}.tokenSources[2].name`, message: 'must be a valid header name' },
      { path: `${P}.tokenSources[3].name`, message: 'must not be empty' },
    ])
    expect(configIssues({ secret: HS_SECRET, tokenSources: [] })).toEqual([
      { path: `${P}.tokenSources`, message: 'at least one token source is required' },
    ])
  })

  it('jwksUrl, clockTolerance, issuer, audience, enabled', () => {
    expect(configIssues({ jwksUrl: 'ftp://x/jwks', algorithm: 'RS256' })[0]?.path).toBe(`${P}.jwksUrl`)
    expect(configIssues({ jwksUrl: 'https://user:pw@issuer.test/jwks', algorithm: 'RS256' })[0]?.path).toBe(`${P}.jwksUrl`)
    expect(configIssues({ secret: HS_SECRET, clockTolerance: -1 })).toEqual([
      { path: `${P}.clockTolerance`, message: 'must be a number of seconds, 0 or more' },
    ])
    expect(configIssues({ secret: HS_SECRET, issuer: '' })[0]?.path).toBe(`${P}.issuer`)
    expect(configIssues({ secret: HS_SECRET, audience: 42 })[0]).toEqual({
      path: `${P}.audience`,
      message: 'expected a string or a list of strings',
    })
    expect(configIssues({ secret: HS_SECRET }, { enabled: 'yes' })).toEqual([
      { path: 'buckets[0].auth.enabled', message: 'expected a boolean' },
    ])
  })

  it('an enabled auth block needs jwt', () => {
    expect(configIssues(undefined)).toEqual([{ path: `${P}`, message: 'required' }])
  })

  it('a wrongly typed secret is not echoed', () => {
    const issues = configIssues({ secret: 123456789 })
    expect(issues).toEqual([{ path: `${P}.secret`, message: 'expected string' }])
    expect(JSON.stringify(issues)).not.toContain('123456789')
  })
})

describe('resolved config', () => {
  it('applies defaults and never prints the secret', () => {
    const resolved = resolveConfig({
      buckets: [{ name: 'a', pathPrefix: '/a', s3: S3, auth: { jwt: { secret: HS_SECRET } } }],
    })
    const jwt = resolved.buckets[0]!.auth!.jwt
    expect(jwt.algorithms).toEqual(['HS256'])
    expect(jwt.clockTolerance).toBe(5)
    expect(jwt.tokenSources).toEqual([{ type: 'bearer' }])
    expect(jwt.claimsVerification).toEqual([])
    expect(jwt.secret).toBe(HS_SECRET)
    const json = JSON.stringify(resolved)
    expect(json).not.toContain(HS_SECRET)
    expect(json).toContain('"secret":"***"')
  })

  it('enabled: false is public, and its jwt block is not looked at', async () => {
    const s3 = fakeS3()
    const handler = createYatagarasu(
      { buckets: [{ name: 'a', pathPrefix: '/a', s3: S3, auth: { enabled: false, jwt: { secret: '' } } }] },
      { fetch: s3.fetch, logger: memoryLogger() },
    )
    expect((await handler(new Request('http://proxy.test/a/file'))).status).toBe(200)
    expect(resolveConfig({ buckets: [{ name: 'a', pathPrefix: '/a', s3: S3, auth: { enabled: false } }] }).buckets[0]?.auth).toBeUndefined()
  })

  it('a bucket without auth stays public next to a protected one', async () => {
    const s3 = fakeS3()
    const handler = createYatagarasu(
      {
        buckets: [
          { name: 'public', pathPrefix: '/pub', s3: S3 },
          { name: 'private', pathPrefix: '/priv', s3: S3, auth: { jwt: { secret: HS_SECRET } } },
        ],
      },
      { fetch: s3.fetch, logger: memoryLogger() },
    )
    expect((await handler(new Request('http://proxy.test/pub/file'))).status).toBe(200)
    expect((await handler(new Request('http://proxy.test/priv/file'))).status).toBe(401)
  })

  it('warns (without the secret) when an HMAC secret is shorter than the hash', () => {
    const logger = memoryLogger()
    createYatagarasu({ buckets: [{ name: 'a', pathPrefix: '/a', s3: S3, auth: { jwt: { secret: 'short-secret' } } }] }, { logger })
    const warning = logger.entries.find((entry) => entry.level === 'warn')
    expect(warning?.fields).toMatchObject({ bucket: 'a', secretBytes: 12, recommendedBytes: 32 })
    expect(JSON.stringify(logger.entries)).not.toContain('short-secret')
  })

  it('createYatagarasu stays synchronous and throws the ConfigError', () => {
    expect(() =>
      createYatagarasu({ buckets: [{ name: 'a', pathPrefix: '/a', s3: S3, auth: { jwt: { publicKey: RSA_PEM, algorithm: 'ES256' } } }] }),
    ).toThrow(/buckets\[0\]\.auth\.jwt\.publicKey: an RSA key cannot verify ES256/)
  })
})

describe('YAML (snake_case), as in docs/auth.md', () => {
  it('the three common setups parse, validate and keep the secret out of JSON', () => {
    const s3 = 's3: { bucket: my-bucket, region: us-east-1, access_key: "${AWS_ACCESS_KEY_ID}", secret_key: "${AWS_SECRET_ACCESS_KEY}" }'
    const text = `
buckets:
  - name: private
    path_prefix: /private
    ${s3}
    auth:
      enabled: true
      jwt:
        secret: "\${JWT_SECRET}"
        algorithm: HS256
        token_sources: [{ type: bearer }]
        claims_verification: [{ claim: role, operator: equals, value: admin }]
  - name: oidc
    path_prefix: /oidc
    ${s3}
    auth:
      jwt:
        jwks_url: https://login.example.com/realms/main/protocol/openid-connect/certs
        algorithms: [RS256, ES256]
        issuer: https://login.example.com/realms/main
        audience: files-api
        clock_tolerance: 10
        claims_verification:
          - { claim: realm_access.roles, operator: contains, value: files-reader }
  - name: signed
    path_prefix: /signed
    ${s3}
    auth:
      jwt:
        public_key: |
${EC_P256_PEM.trim().split('\n').map((line) => `          ${line}`).join('\n')}
        algorithm: ES256
        issuer: https://auth.example.com
        token_sources:
          - type: header
            name: X-Auth-Token
          - type: query
            name: token
`
    const config = parseConfig(text, { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK', JWT_SECRET: HS_SECRET })
    expect(JSON.stringify(config)).not.toContain(HS_SECRET)
    const resolved = resolveConfig(config)
    const [secret, oidc, signed] = resolved.buckets.map((bucket) => bucket.auth!.jwt)
    expect(secret).toMatchObject({ algorithms: ['HS256'], secret: HS_SECRET, tokenSources: [{ type: 'bearer' }] })
    expect(secret?.claimsVerification[0]).toMatchObject({ claim: 'role', operator: 'equals', value: 'admin' })
    expect(oidc).toMatchObject({ algorithms: ['RS256', 'ES256'], audience: ['files-api'], clockTolerance: 10 })
    expect(oidc?.claimsVerification[0]?.path).toEqual(['realm_access', 'roles'])
    expect(signed).toMatchObject({
      algorithms: ['ES256'],
      publicKey: { format: 'spki', kty: 'EC', crv: 'P-256' },
      tokenSources: [{ type: 'header', name: 'x-auth-token' }, { type: 'query', name: 'token' }],
    })
    expect(JSON.stringify(resolved)).not.toContain(HS_SECRET)
  })

  it('a wrong key type in YAML is reported with its snake_case path', () => {
    const text = `
buckets:
  - name: a
    path_prefix: /a
    s3: { bucket: b, region: us-east-1, access_key: AK, secret_key: SK }
    auth:
      jwt:
        public_key: |
${RSA_PEM.trim().split('\n').map((line) => `          ${line}`).join('\n')}
        algorithm: ES256
`
    expect(() => parseConfig(text)).toThrow(/public_key.*an RSA key cannot verify ES256/)
  })
})
