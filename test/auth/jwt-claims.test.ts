/**
 * claimsVerification: every operator passing and failing, dotted paths, missing claims,
 * all rules must hold, 403 with insufficient_scope and no claim values anywhere; and the
 * rules are validated at creation.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, createYatagarasu, resolveConfig, type ClaimRule } from '../../src/index.js'
import { errorOf, fakeS3, HS_SECRET, memoryLogger, S3, secretBytes, sign } from '../support/jwt-fixtures.js'

function proxy(claimsVerification: ClaimRule[]) {
  const s3 = fakeS3()
  const logger = memoryLogger()
  const handler = createYatagarasu(
    { buckets: [{ name: 'private', pathPrefix: '/p', s3: S3, auth: { jwt: { secret: HS_SECRET, claimsVerification } } }] },
    { fetch: s3.fetch, logger },
  )
  return {
    s3,
    logger,
    async status(claims: Record<string, unknown>) {
      const token = await sign(claims, secretBytes(), 'HS256')
      return (await handler(new Request('http://proxy.test/p/a', { headers: { Authorization: `Bearer ${token}` } }))).status
    },
    async response(claims: Record<string, unknown>) {
      const token = await sign(claims, secretBytes(), 'HS256')
      return handler(new Request('http://proxy.test/p/a', { headers: { Authorization: `Bearer ${token}` } }))
    },
  }
}

describe('operators', () => {
  it('equals: strict equality of strings, numbers, booleans', async () => {
    const p = proxy([{ claim: 'role', operator: 'equals', value: 'admin' }])
    expect(await p.status({ role: 'admin' })).toBe(200)
    expect(await p.status({ role: 'Admin' })).toBe(403)
    expect(await p.status({ role: ['admin'] })).toBe(403)
    const n = proxy([{ claim: 'level', operator: 'equals', value: 3 }])
    expect(await n.status({ level: 3 })).toBe(200)
    expect(await n.status({ level: '3' })).toBe(403)
    const b = proxy([{ claim: 'email_verified', operator: 'equals', value: true }])
    expect(await b.status({ email_verified: true })).toBe(200)
    expect(await b.status({ email_verified: 'true' })).toBe(403)
  })

  it('contains: an array member, or a substring of a string', async () => {
    const p = proxy([{ claim: 'groups', operator: 'contains', value: 'editors' }])
    expect(await p.status({ groups: ['readers', 'editors'] })).toBe(200)
    expect(await p.status({ groups: ['readers'] })).toBe(403)
    expect(await p.status({ groups: 'staff editors-team' })).toBe(200)
    expect(await p.status({ groups: 'staff' })).toBe(403)
    expect(await p.status({ groups: { editors: true } })).toBe(403)
    const scope = proxy([{ claim: 'scope', operator: 'contains', value: 'read:files' }])
    expect(await scope.status({ scope: 'openid read:files' })).toBe(200)
    const n = proxy([{ claim: 'ids', operator: 'contains', value: 7 }])
    expect(await n.status({ ids: [1, 7] })).toBe(200)
    expect(await n.status({ ids: ['7'] })).toBe(403)
  })

  it('in: the claim is one of a list', async () => {
    const p = proxy([{ claim: 'tier', operator: 'in', value: ['gold', 'platinum'] }])
    expect(await p.status({ tier: 'gold' })).toBe(200)
    expect(await p.status({ tier: 'platinum' })).toBe(200)
    expect(await p.status({ tier: 'silver' })).toBe(403)
    expect(await p.status({ tier: ['gold'] })).toBe(403)
  })

  it('gt and lt: numbers only', async () => {
    const gt = proxy([{ claim: 'level', operator: 'gt', value: 5 }])
    expect(await gt.status({ level: 6 })).toBe(200)
    expect(await gt.status({ level: 5 })).toBe(403)
    expect(await gt.status({ level: '10' })).toBe(403)
    const lt = proxy([{ claim: 'level', operator: 'lt', value: 5 }])
    expect(await lt.status({ level: 4.5 })).toBe(200)
    expect(await lt.status({ level: 5 })).toBe(403)
    expect(await lt.status({ level: null })).toBe(403)
  })
})

describe('paths and missing claims', () => {
  it('dotted paths reach nested claims (Keycloak realm_access.roles)', async () => {
    const p = proxy([{ claim: 'realm_access.roles', operator: 'contains', value: 'admin' }])
    expect(await p.status({ realm_access: { roles: ['user', 'admin'] } })).toBe(200)
    expect(await p.status({ realm_access: { roles: ['user'] } })).toBe(403)
    expect(await p.status({ realm_access: ['admin'] })).toBe(403)
    const deep = proxy([{ claim: 'a.b.c', operator: 'equals', value: 1 }])
    expect(await deep.status({ a: { b: { c: 1 } } })).toBe(200)
  })

  it('claim names that contain dots (namespaced claims) are found too', async () => {
    const p = proxy([{ claim: 'https://example.com/roles', operator: 'contains', value: 'admin' }])
    expect(await p.status({ 'https://example.com/roles': ['admin'] })).toBe(200)
    const mixed = proxy([{ claim: 'ext.https://example.com/tier', operator: 'equals', value: 'gold' }])
    expect(await mixed.status({ ext: { 'https://example.com/tier': 'gold' } })).toBe(200)
  })

  it('a missing claim fails its rule, whatever the operator', async () => {
    for (const rule of [
      { claim: 'role', operator: 'equals', value: 'x' },
      { claim: 'role', operator: 'contains', value: 'x' },
      { claim: 'role', operator: 'in', value: ['x'] },
      { claim: 'n', operator: 'gt', value: -1 },
      { claim: 'n', operator: 'lt', value: 1e9 },
      { claim: 'a.b', operator: 'equals', value: 'x' },
    ] as ClaimRule[]) {
      expect(await proxy([rule]).status({ sub: 'ada', a: {} })).toBe(403)
    }
  })

  it('inherited properties are not claims', async () => {
    const p = proxy([{ claim: 'constructor.name', operator: 'equals', value: 'Object' }])
    expect(await p.status({})).toBe(403)
  })
})

describe('all rules must hold', () => {
  const p = proxy([
    { claim: 'role', operator: 'equals', value: 'admin' },
    { claim: 'level', operator: 'gt', value: 2 },
  ])

  it('passes when every rule holds, 403 when any fails', async () => {
    expect(await p.status({ role: 'admin', level: 3 })).toBe(200)
    expect(await p.status({ role: 'admin', level: 1 })).toBe(403)
    expect(await p.status({ role: 'user', level: 3 })).toBe(403)
  })

  it('403 says "claim check failed" with insufficient_scope, never the claim values, and nothing reaches S3', async () => {
    const before = p.s3.calls.length
    const response = await p.response({ role: 'secret-role-value', level: 1 })
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="private", error="insufficient_scope", error_description="claim check failed"',
    )
    const text = await response.clone().text()
    expect(text).not.toContain('secret-role-value')
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'Forbidden', message: 'claim check failed' })
    expect(p.s3.calls.length).toBe(before)
    expect(JSON.stringify(p.logger.entries)).not.toContain('secret-role-value')
  })
})

describe('rules are validated at creation', () => {
  function issues(claimsVerification: unknown) {
    try {
      resolveConfig({
        buckets: [{ name: 'a', pathPrefix: '/a', s3: S3, auth: { jwt: { secret: HS_SECRET, claimsVerification } } }],
      } as never)
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      return (error as ConfigError).issues
    }
    throw new Error('expected a ConfigError')
  }
  const at = (i: number, field: string) => `buckets[0].auth.jwt.claimsVerification[${i}].${field}`

  it('unknown operator', () => {
    expect(issues([{ claim: 'role', operator: 'matches', value: 'x' }])).toEqual([
      { path: at(0, 'operator'), message: 'must be one of equals, contains, in, gt, lt' },
    ])
  })

  it('in without an array, gt/lt with a non-number, equals with an object, missing value or claim', () => {
    expect(
      issues([
        { claim: 'role', operator: 'in', value: 'admin' },
        { claim: 'level', operator: 'gt', value: '5' },
        { claim: 'level', operator: 'lt', value: Number.NaN },
        { claim: 'role', operator: 'equals', value: { a: 1 } },
        { claim: 'role', operator: 'equals' },
        { operator: 'equals', value: 'x' },
        { claim: 'tier', operator: 'in', value: [] },
      ]),
    ).toEqual([
      { path: at(0, 'value'), message: "must be a non-empty list of strings, numbers or booleans for 'in'" },
      { path: at(1, 'value'), message: "must be a number for 'gt'" },
      { path: at(2, 'value'), message: "must be a number for 'lt'" },
      { path: at(3, 'value'), message: "must be a string, number or boolean for 'equals'" },
      { path: at(4, 'value'), message: 'required' },
      { path: at(5, 'claim'), message: 'required' },
      { path: at(6, 'value'), message: "must be a non-empty list of strings, numbers or booleans for 'in'" },
    ])
  })
})
