/**
 * Property-based fuzzing of token extraction and verification through the whole
 * handler: tokens (valid, expired, wrongly signed, `alg: none`, tampered, mutated,
 * junk, huge) placed in any of the configured sources (X-Auth-Token, Authorization
 * with odd schemes and spacing, the `token` query parameter), several at once.
 * Properties: never a throw or a 5xx; only 200/401/403; S3 is reached only with a
 * token equal to a genuinely valid one; the token never reaches S3 (no query string).
 */
import fc from 'fast-check'
import { SignJWT } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { createYatagarasu, silentLogger, type FetchHandler } from '../../src/index.js'
import { recordingFetch } from '../support/recording-fetch.js'

const SECRET = 'fuzz-secret-that-is-long-enough-for-hs256-and-more-0123456789'
const key = new TextEncoder().encode(SECRET)
const now = () => Math.floor(Date.now() / 1000)
const b64url = (text: string) => Buffer.from(text).toString('base64url')

let valid: string[] = []
let invalid: string[] = []
let handler: FetchHandler
const origin = recordingFetch()

beforeAll(async () => {
  const sign = (payload: Record<string, unknown>, secret = key, alg = 'HS256') =>
    new SignJWT(payload).setProtectedHeader({ alg }).sign(secret)
  valid = await Promise.all([
    sign({ sub: 'ada', role: 'reader', exp: now() + 3600 }),
    sign({ sub: 'bob', role: 'reader' }),
  ])
  const other = new TextEncoder().encode('another-secret-that-is-also-long-enough-0123456789abcdef')
  const [header, , signature] = valid[0]!.split('.')
  invalid = await Promise.all([
    sign({ sub: 'ada', role: 'reader', exp: now() - 3600 }), // expired
    sign({ sub: 'eve', role: 'reader' }, other), // wrong key
    sign({ sub: 'ada', role: 'admin' }), // valid, but the claim check fails → 403
    sign({ sub: 'ada', role: 'reader' }, key, 'HS512'), // algorithm not allowed
    Promise.resolve(`${b64url('{"alg":"none","typ":"JWT"}')}.${b64url('{"sub":"ada","role":"reader"}')}.`),
    Promise.resolve(`${header}.${b64url('{"sub":"root","role":"reader"}')}.${signature}`), // tampered
  ])
  handler = createYatagarasu(
    {
      buckets: [
        {
          name: 'private',
          pathPrefix: '/p',
          s3: { bucket: 'bk', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' },
          auth: {
            enabled: true,
            jwt: {
              secret: SECRET,
              algorithm: 'HS256',
              tokenSources: [{ type: 'header', name: 'X-Auth-Token' }, { type: 'bearer' }, { type: 'query', name: 'token' }],
              claimsVerification: [{ claim: 'role', operator: 'equals', value: 'reader' }],
            },
          },
        },
      ],
    },
    { logger: silentLogger, fetch: origin.fetch },
  )
})

/** Equal to a valid token: same header and payload, and the same signature bytes. */
function isValidToken(candidate: string): boolean {
  return valid.some((token) => {
    const [h, p, s] = token.split('.')
    const parts = candidate.trim().split('.')
    return parts.length === 3 && parts[0] === h && parts[1] === p && Buffer.from(parts[2]!, 'base64url').equals(Buffer.from(s!, 'base64url'))
  })
}

const token = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1).map((i) => () => valid[i]!) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => () => invalid[i]!) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(0, 1), fc.nat(), fc.string({ unit: fc.constantFrom(...'AZaz09-_.= +/%'.split('')), minLength: 1, maxLength: 3 }), fc.constantFrom('replace', 'insert', 'truncate', 'case'))
      .map(([i, at, text, how]) => () => {
        const t = valid[i]!
        const pos = at % t.length
        if (how === 'replace') return t.slice(0, pos) + text + t.slice(pos + text.length)
        if (how === 'insert') return t.slice(0, pos) + text + t.slice(pos)
        if (how === 'truncate') return t.slice(0, pos)
        return t.slice(0, pos) + t.slice(pos).toUpperCase()
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.string({ unit: fc.constantFrom(...'ABCxyz012-_'.split('')), maxLength: 30 }), { minLength: 1, maxLength: 4 })
      .map((parts) => () => parts.join('.')),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => () => s) },
  { weight: 1, arbitrary: fc.integer({ min: 16_000, max: 20_000 }).map((n) => () => `${'a'.repeat(n)}.b.c`) },
)
const scheme = fc.constantFrom('Bearer ', 'bearer ', 'BEARER   ', 'Bearer', 'Basic ', 'Token ', '', ' Bearer ')
const placement = fc.record(
  {
    header: fc.option(token, { nil: undefined }),
    authorization: fc.option(fc.tuple(scheme, token), { nil: undefined }),
    query: fc.option(token, { nil: undefined }),
    decoyQuery: fc.boolean(),
  },
  { requiredKeys: ['header', 'authorization', 'query', 'decoyQuery'] },
)

describe('token extraction under fuzzing', () => {
  it('only genuinely valid tokens reach S3, and never with the token (15,000 requests)', async () => {
    let served = 0
    await fc.assert(
      fc.asyncProperty(placement, async ({ header, authorization, query, decoyQuery }) => {
        origin.calls.length = 0
        const headers = new Headers()
        const tokens: string[] = []
        const put = (set: () => void) => {
          try {
            set()
          } catch {
            // a value no client could send in a header
          }
        }
        if (header) {
          const t = header()
          put(() => headers.set('X-Auth-Token', t))
          if (headers.has('x-auth-token')) tokens.push(headers.get('x-auth-token')!)
        }
        if (authorization) {
          const t = authorization[1]()
          put(() => headers.set('Authorization', authorization[0] + t))
          if (headers.has('authorization')) tokens.push(headers.get('authorization')!.replace(/^\s*bearer/i, ''))
        }
        let url = 'http://proxy.test/p/object.txt'
        const params = new URLSearchParams()
        if (query) {
          const t = query()
          params.set('token', t)
          tokens.push(t)
        }
        if (decoyQuery) params.set('list-type', '2')
        if ([...params].length > 0) url += `?${params}`
        const response = await handler(new Request(url, { headers }))
        await response.body?.cancel()
        expect([200, 401, 403, 414, 431]).toContain(response.status)
        if (response.status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="private"/)
        if (origin.calls.length === 0) {
          expect(response.status).not.toBe(200)
          return
        }
        served++
        expect(response.status).toBe(200)
        expect(tokens.some(isValidToken)).toBe(true)
        const call = origin.calls[0]!
        expect(call.url).toBe('http://s3.test/bk/object.txt')
        expect(call.headers.get('x-auth-token')).toBeNull()
        for (const t of tokens) if (t.length > 8) expect(call.headers.get('authorization')).not.toContain(t.trim())
      }),
      { numRuns: 15_000 },
    )
    expect(served).toBeGreaterThan(500)
  }, 120_000)
})
