/**
 * The server's `audit_log` block: JSON lines of authorization decisions to a file
 * (reopened on SIGHUP) or stderr, through the built CLI against the S3 harness; the
 * block's validation and `check` summary.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/index.js'
import { loadConfigFile } from '../../src/server/index.js'
import { summarize } from '../../src/server/summary.js'
import { assertBuilt, runCli, startCliServer, tempDir, type CliServer } from '../support/cli.js'
import { HS_SECRET, nowSeconds, secretBytes, sign } from '../support/jwt-fixtures.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import { until } from '../support/wait.js'

const token = (claims: Record<string, unknown>) => sign({ exp: nowSeconds() + 60, ...claims }, secretBytes(), 'HS256')

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

    const linesOf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [])
    const readLines = async (file: string, count: number) => {
      await until(() => linesOf(file).length >= count, `${count} lines in ${file}`)
      return linesOf(file).map((line) => JSON.parse(line) as Record<string, unknown>)
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
    await until(() => server.output().includes('"type":"audit"'), 'the audit line on stderr')
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
