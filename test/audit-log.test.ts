/**
 * The audit log: one entry per authorization decision (subject, bucket, key, decision,
 * reason), from the library's `audit` option and from the server's `audit_log` block to
 * stdout, stderr or a file — never a token or a secret.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, createYatagarasu, jsonAuditLog, type AuditEntry, type YatagarasuConfig } from '../src/index.js'
import { loadConfigFile, summarize } from '../src/server/index.js'
import { assertBuilt, runCli, startCliServer, tempDir, type CliServer } from './support/cli.js'
import { fakeS3, HS_SECRET, nowSeconds, S3, secretBytes, sign } from './support/jwt-fixtures.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from './support/test-s3.js'

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

describe('audit_log in the server config', () => {
  let s3: TestS3
  let files: ReturnType<typeof tempDir>
  const servers: CliServer[] = []
  const env = () => ({ S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: TEST_CREDENTIALS.accessKeyId, S3_SECRET_KEY: TEST_CREDENTIALS.secretAccessKey, JWT_SECRET: HS_SECRET })
  const config = (audit: string) => `buckets:
  - name: private
    path_prefix: /private
    s3:
      bucket: assets
      region: us-east-1
      endpoint: \${S3_ENDPOINT}
      access_key: \${S3_ACCESS_KEY}
      secret_key: \${S3_SECRET_KEY}
    auth:
      jwt:
        secret: \${JWT_SECRET}
        algorithm: HS256
${audit}`

  beforeAll(async () => {
    assertBuilt()
    s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }] })
    await s3.put('assets', 'doc.txt', 'secret document')
    files = tempDir()
  })

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()))
    await s3?.close()
    files?.cleanup()
  })

  it('file_path: one line per decision in that file; SIGHUP reopens it (log rotation)', async () => {
    const auditFile = join(files.dir, 'logs/audit.log')
    const path = files.write('file.yaml', config(`audit_log:\n  file_path: ${auditFile}\n`))
    const server = await startCliServer(path, env())
    servers.push(server)
    const jwt = await token({ sub: 'carol' })
    expect((await fetch(`${server.url}/private/doc.txt`, { headers: { Authorization: `Bearer ${jwt}` } })).status).toBe(200)
    expect((await fetch(`${server.url}/private/doc.txt`)).status).toBe(401)
    // Written asynchronously: the request log line of the second request comes after its audit line was queued.
    await server.waitForLog((line) => line.message === 'request' && line.status === 401)

    const readLines = async (file: string, count: number) => {
      for (;;) {
        const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []
        if (lines.length >= count) return lines.map((line) => JSON.parse(line) as Record<string, unknown>)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    const first = await readLines(auditFile, 2)
    expect(first.map(({ subject, bucket, key, decision, reason, type }) => ({ subject, bucket, key, decision, reason, type }))).toEqual([
      { subject: 'carol', bucket: 'private', key: 'doc.txt', decision: 'allow', reason: 'token-valid', type: 'audit' },
      { subject: 'anonymous', bucket: 'private', key: 'doc.txt', decision: 'deny', reason: 'no-token', type: 'audit' },
    ])
    expect(readFileSync(auditFile, 'utf8')).not.toContain(jwt.split('.')[2])
    // Audit lines go to their own destination, not into the server's log.
    expect(server.logs.some((line) => line.type === 'audit')).toBe(false)

    renameSync(auditFile, `${auditFile}.1`)
    server.child.kill('SIGHUP')
    await server.waitForLog((line) => line.message === 'config reloaded')
    expect((await fetch(`${server.url}/private/doc.txt`)).status).toBe(401)
    const after = await readLines(auditFile, 1)
    expect(after).toEqual([expect.objectContaining({ decision: 'deny', reason: 'no-token' })])
    expect(readFileSync(`${auditFile}.1`, 'utf8').split('\n').filter(Boolean)).toHaveLength(2)
  })

  it('output: stderr writes there, not to stdout', async () => {
    const path = files.write('stderr.yaml', config('audit_log:\n  enabled: true\n  output: stderr\n'))
    const server = await startCliServer(path, env())
    servers.push(server)
    expect((await fetch(`${server.url}/private/doc.txt`)).status).toBe(401)
    await server.waitForLog((line) => line.message === 'request')
    for (;;) {
      if (server.output().includes('"type":"audit"')) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const auditLine = server.output().split('\n').find((line) => line.includes('"type":"audit"'))!
    expect(JSON.parse(auditLine)).toMatchObject({ decision: 'deny', reason: 'no-token', bucket: 'private' })
    expect(server.logs.some((line) => line.type === 'audit')).toBe(false)
  })

  it('is off without the block, and with enabled: false', async () => {
    for (const block of ['', 'audit_log:\n  enabled: false\n  output: stdout\n']) {
      const loaded = await loadConfigFile(files.write('off.yaml', config(block)), env())
      expect(loaded.settings.auditLog).toEqual({ enabled: false })
      expect(summarize(loaded)).toMatch(/^audit log +off$/m)
    }
    const on = await loadConfigFile(files.write('on.yaml', config('audit_log:\n  output: stderr\n')), env())
    expect(on.settings.auditLog).toEqual({ enabled: true, output: 'stderr' })
    expect(summarize(on)).toMatch(/^audit log +stderr$/m)
    expect(on.warnings).toEqual([])
  })

  it('refuses inconsistent settings and a file it cannot open', async () => {
    const problems = async (block: string) => {
      const error = await loadConfigFile(files.write('bad.yaml', config(block)), env()).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigError)
      return (error as ConfigError).issues.map(({ path, message }) => `${path}: ${message}`)
    }
    expect(await problems('audit_log:\n  output: file\n')).toEqual(['audit_log.file_path: required with output: file'])
    expect(await problems('audit_log:\n  output: stdout\n  file_path: /tmp/x.log\n')).toEqual([
      'audit_log.file_path: is only used with output: file (output is stdout)',
    ])
    expect(await problems('audit_log:\n  output: syslog\n')).toEqual(['audit_log.output: must be stdout, stderr or file'])

    const directory = join(files.dir, 'a-directory')
    mkdirSync(directory)
    const unopenable = await runCli(['serve', '--config', files.write('bad4.yaml', config(`audit_log:\n  file_path: ${directory}\n`)), '--port', '0'], env())
    expect(unopenable.code).toBe(1)
    expect(unopenable.stderr).toContain(`audit_log.file_path: cannot open ${directory}: is a directory`)
  })
})
