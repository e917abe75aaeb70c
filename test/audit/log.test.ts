/**
 * The audit log from the library's `audit` option: one entry per authorization decision
 * (subject, bucket, key, decision, reason), never a token or a secret. The server's
 * `audit_log` block: test/audit/log-server.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { createYatagarasu, jsonAuditLog, type AuditEntry, type YatagarasuConfig } from '../../src/index.js'
import { fakeS3, HS_SECRET, nowSeconds, S3, secretBytes, sign } from '../support/jwt-fixtures.js'

const CONFIG: YatagarasuConfig = {
  buckets: [
    {
      name: 'private',
      pathPrefix: '/p',
      s3: S3,
      auth: {
        jwt: {
          secret: HS_SECRET,
          tokenSources: [{ type: 'bearer' }, { type: 'query', name: 'token' }],
          claimsVerification: [{ claim: 'role', operator: 'equals', value: 'viewer' }],
        },
      },
    },
    { name: 'office', pathPrefix: '/office', s3: S3, ipFilter: { allow: ['10.0.0.0/8'] } },
    { name: 'public', pathPrefix: '/pub', s3: S3 },
  ],
}

function proxy() {
  const entries: AuditEntry[] = []
  const handler = createYatagarasu(CONFIG, { fetch: fakeS3().fetch, audit: (entry) => entries.push(entry) })
  return { entries, handler }
}

const token = (claims: Record<string, unknown>) => sign({ exp: nowSeconds() + 60, ...claims }, secretBytes(), 'HS256')

describe('audit entries from the handler', () => {
  it('an allowed request: the verified subject, bucket, key, the request id and the client address', async () => {
    const { entries, handler } = proxy()
    const response = await handler(
      new Request('http://proxy.test/p/reports/q1.pdf', { headers: { Authorization: `Bearer ${await token({ sub: 'alice', role: 'viewer' })}` } }),
      { clientIp: '192.0.2.7' },
    )
    expect(response.status).toBe(200)
    expect(entries).toEqual([
      {
        requestId: response.headers.get('x-request-id'),
        method: 'GET',
        bucket: 'private',
        key: 'reports/q1.pdf',
        subject: 'alice',
        decision: 'allow',
        reason: 'token-valid',
        clientIp: '192.0.2.7',
      },
    ])
  })

  it('refusals say why; only a verified token names a subject', async () => {
    const { entries, handler } = proxy()
    const expired = await sign({ sub: 'mallory', role: 'viewer', exp: nowSeconds() - 3600 }, secretBytes(), 'HS256')
    const forged = await sign({ sub: 'mallory', role: 'viewer', exp: nowSeconds() + 60 }, secretBytes('another-secret-that-is-long-enough-0123456789'), 'HS256')
    const statuses = [
      (await handler(new Request('http://proxy.test/p/a'))).status,
      (await handler(new Request('http://proxy.test/p/a', { headers: { Authorization: 'Bearer not-a-jwt' } }))).status,
      (await handler(new Request('http://proxy.test/p/a', { headers: { Authorization: `Bearer ${expired}` } }))).status,
      (await handler(new Request('http://proxy.test/p/a', { headers: { Authorization: `Bearer ${forged}` } }))).status,
      (await handler(new Request('http://proxy.test/p/a', { headers: { Authorization: `Bearer ${await token({ sub: 'bob', role: 'guest' })}` } }))).status,
    ]
    expect(statuses).toEqual([401, 401, 401, 401, 403])
    expect(entries.map(({ subject, decision, reason }) => ({ subject, decision, reason }))).toEqual([
      { subject: 'anonymous', decision: 'deny', reason: 'no-token' },
      { subject: 'anonymous', decision: 'deny', reason: 'malformed' },
      { subject: 'anonymous', decision: 'deny', reason: 'expired' },
      { subject: 'anonymous', decision: 'deny', reason: 'signature' },
      { subject: 'bob', decision: 'deny', reason: 'claims' },
    ])
  })

  it('a verified token without `sub` is allowed as anonymous', async () => {
    const { entries, handler } = proxy()
    const response = await handler(new Request('http://proxy.test/p/a', { headers: { Authorization: `Bearer ${await token({ role: 'viewer' })}` } }))
    expect(response.status).toBe(200)
    expect(entries.map((e) => [e.subject, e.decision])).toEqual([['anonymous', 'allow']])
  })

  it('an IP filter refusal is a decision too; public buckets and allowed addresses on unprotected buckets are not', async () => {
    const { entries, handler } = proxy()
    expect((await handler(new Request('http://proxy.test/office/plan.txt'), { clientIp: '203.0.113.9' })).status).toBe(403)
    expect((await handler(new Request('http://proxy.test/office/plan.txt'), { clientIp: '10.1.2.3' })).status).toBe(200)
    expect((await handler(new Request('http://proxy.test/pub/logo.png'))).status).toBe(200)
    expect(entries).toEqual([
      expect.objectContaining({ bucket: 'office', key: 'plan.txt', subject: 'anonymous', decision: 'deny', reason: 'ip-filter', clientIp: '203.0.113.9' }),
    ])
  })

  it('never carries the token, even one from the query string', async () => {
    const lines: string[] = []
    const handler = createYatagarasu(CONFIG, { fetch: fakeS3().fetch, audit: jsonAuditLog((line) => lines.push(line)) })
    const jwt = await token({ sub: 'alice', role: 'viewer' })
    await handler(new Request(`http://proxy.test/p/a.txt?token=${jwt}`))
    await handler(new Request(`http://proxy.test/p/a.txt?token=${jwt}x`))
    expect(lines).toHaveLength(2)
    for (const line of lines) {
      expect(line).not.toContain(jwt.slice(0, 40))
      expect(line).not.toContain(HS_SECRET)
    }
    expect(JSON.parse(lines[0]!)).toMatchObject({ key: 'a.txt', decision: 'allow' })
    expect(JSON.parse(lines[1]!)).toMatchObject({ key: 'a.txt', decision: 'deny', reason: 'signature' })
  })
})

describe('jsonAuditLog', () => {
  it('writes one JSON object per entry, with the time and type first; a token-like key is redacted', () => {
    const lines: string[] = []
    const log = jsonAuditLog((line) => lines.push(line), { now: () => new Date('2026-01-02T03:04:05.678Z') })
    const base = { requestId: 'r1', method: 'HEAD', bucket: 'b', subject: 'alice', decision: 'deny', reason: 'claims' } as const
    log({ ...base, key: 'docs/a "quoted"\nname.txt' })
    log({ ...base, key: 'x/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln', clientIp: '::1' })
    expect(lines[0]).toBe(
      '{"time":"2026-01-02T03:04:05.678Z","type":"audit","requestId":"r1","method":"HEAD","bucket":"b","key":"docs/a \\"quoted\\"\\nname.txt","subject":"alice","decision":"deny","reason":"claims"}',
    )
    expect(JSON.parse(lines[1]!)).toMatchObject({ key: 'x/[REDACTED]', clientIp: '::1' })
  })
})
