/**
 * The `yatagarasu` bin, spawned as `node dist/cli.js` against a real S3 (s3rver behind
 * a SigV4-verifying front): `check` on good and bad configs, `serve` with request
 * logs, /health, /ready, /metrics, SIGHUP reloads and SIGTERM draining a download.
 */
import http from 'node:http'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, ROOT, runCli, startCliServer, tempDir, type CliServer } from '../support/cli.js'
import { parsePrometheusText, valueOf } from '../support/prometheus-text.js'
import { S3_FROM_ENV, s3Env as s3EnvOf } from '../support/server-suite.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import { freePort } from '../support/free-port.js'
import { until } from '../support/wait.js'

const JWT_SECRET = 'server-cli-test-secret-0123456789abcdef'
const SLOW_SIZE = 2 * 1024 * 1024
let s3: TestS3
let files: ReturnType<typeof tempDir>
const servers: CliServer[] = []

/** A config for the test S3; credentials and the endpoint come from the environment. */
function configText(extraBuckets = ''): string {
  return `# test config
server:
  address: "127.0.0.1:8080"
logging:
  level: info
  format: json
buckets:
  - name: public
    path_prefix: /public
${S3_FROM_ENV}    cache:
      enabled: true
      ttl: 60
      max_size: 8MB
      max_item_size: 1MB
  - name: private
    path_prefix: /private
${S3_FROM_ENV}    auth:
      enabled: true
      jwt:
        secret: \${JWT_SECRET}
        algorithm: HS256
        token_sources:
          - type: bearer
          - type: query
            name: token
${extraBuckets}`
}

const s3Env = (): Record<string, string> => ({ ...s3EnvOf(s3), JWT_SECRET })

/** Waits until the server's cache holds `entries` objects of `bucket` (its /metrics gauge): the write happens after the response. */
async function untilCached(server: CliServer, bucket: string, entries = 1): Promise<void> {
  const held = async () => {
    const metrics = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text())
    return valueOf(metrics, 'yatagarasu_cache_entries', { bucket }) >= entries
  }
  await until(held, `${entries} cached object(s) in ${bucket}`)
}

async function serve(text: string, env: Record<string, string> = s3Env(), extra: string[] = []): Promise<CliServer> {
  const server = await startCliServer(files.write(`config-${servers.length}.yaml`, text), env, extra)
  servers.push(server)
  return server
}

function token(claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ role: 'viewer', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(JWT_SECRET))
}

beforeAll(async () => {
  assertBuilt()
  files = tempDir()
  s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }, { name: 'other', region: 'us-east-1' }] })
  await Promise.all([
    s3.put('other', 'hello.txt', 'hello from the other bucket', { 'Content-Type': 'text/plain' }),
    s3.put('assets', 'hello.txt', 'hello world', { 'Content-Type': 'text/plain' }),
    s3.put('assets', 'secret.txt', 'for alice', { 'Content-Type': 'text/plain' }),
    s3.put('assets', 'slow.bin', new Uint8Array(SLOW_SIZE).fill(9), { 'Content-Type': 'application/octet-stream' }),
  ])
  // ~1.6 s for the whole body: long enough to signal in the middle of it.
  s3.throttle('assets', 'slow.bin', { chunkSize: 64 * 1024, intervalMs: 50 })
})

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.kill()))
})

afterAll(async () => {
  await s3?.close()
  files?.cleanup()
})

describe('yatagarasu --help, --version and usage errors', () => {
  it('prints help and the package version', async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/yatagarasu serve --config FILE/)
    expect(help.stdout).toMatch(/yatagarasu check --config FILE/)
    const version = await runCli(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).version)
  })

  it('exits 2 on usage errors', async () => {
    for (const args of [['serve'], ['frobnicate'], ['check', '--config'], ['serve', '--config', 'x.yaml', '--port', 'eighty'], ['check', '--nope']]) {
      const result = await runCli(args)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr).toMatch(/^yatagarasu: /)
    }
  })
})

describe('yatagarasu check', () => {
  it('prints a summary of a valid config with secrets masked, and warns about unknown keys', async () => {
    const path = files.write('check-good.yaml', `${configText()}    colour: blue\nmetrics:\n  enabled: true\n  port: 9191\n  scrape_interval: 5\n`)
    const result = await runCli(['check', '--config', path], s3Env())
    expect(result.stderr).toBe(
      'warning: buckets[1].colour (line 38): unknown key; ignored\nwarning: metrics.scrape_interval (line 42): unknown key; ignored\n',
    )
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('valid (2 buckets)')
    expect(result.stdout).toMatch(/bucket public\s+\/public/)
    expect(result.stdout).toMatch(/bucket private\s+\/private/)
    expect(result.stdout).toMatch(/auth\s+none \(public\)/)
    expect(result.stdout).toMatch(/auth\s+JWT HS256 \(secret \*\*\*\)/)
    expect(result.stdout).toMatch(/cache\s+ttl 60 s, max 8MB, items up to 1MB/)
    expect(result.stdout).toMatch(/metrics 127\.0\.0\.1:9191\/metrics/)
    expect(result.stdout).toContain('access key ***, secret key ***')
    for (const secret of [TEST_CREDENTIALS.secretAccessKey, JWT_SECRET]) expect(result.stdout + result.stderr).not.toContain(secret)
  })

  it('lists every problem with its path and line, and exits 1', async () => {
    const path = files.write(
      'check-bad.yaml',
      `server:
  address: "localhost:99999"
logging:
  format: xml
buckets:
  - name: a
    path_prefix: a
    s3:
      bucket: b
      region: r
      access_key: \${NOT_SET_ANYWHERE}
      secret_key: wrong-place-secret-value
      retries: lots
    cache:
      max_item_size: huge
`,
    )
    const result = await runCli(['check', '--config', path])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(`${path}: invalid config (6 problems):
  server.address (line 2): must be "host:port", "host" or ":port" (IPv6 in brackets)
  logging.format (line 4): must be json or text
  buckets[0].path_prefix (line 7): must start with '/'
  buckets[0].s3.access_key (line 11): environment variable NOT_SET_ANYWHERE is not set
  buckets[0].s3.retries (line 13): expected number
  buckets[0].cache.max_item_size (line 15): must be a positive size such as 1048576 or "10MB"
`)
    expect(result.stderr).not.toContain('wrong-place-secret-value')
  })

  it('fills ${VAR}s from the environment: a missing one is an error naming it', async () => {
    const path = files.write('check-env.yaml', configText())
    const missing = await runCli(['check', '--config', path], { ...s3Env(), JWT_SECRET: '' })
    // JWT_SECRET set but empty: substituted as empty text, which the schema refuses.
    expect(missing.code).toBe(1)
    const { JWT_SECRET: _omit, ...withoutJwt } = s3Env()
    const unset = await runCli(['check', '--config', path], withoutJwt)
    expect(unset.code).toBe(1)
    expect(unset.stderr).toContain('buckets[1].auth.jwt.secret (line 32): environment variable JWT_SECRET is not set')
    const ok = await runCli(['check', '--config', path], s3Env())
    expect(ok.code).toBe(0)
    const viaEnv = await runCli(['check'], { ...s3Env(), YATAGARASU_CONFIG: path })
    expect(viaEnv.code).toBe(0)
  })

  it('exits 1 for a file that cannot be read', async () => {
    const result = await runCli(['check', '--config', `${files.dir}/nope.yaml`])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/cannot read .*nope\.yaml: no such file/)
  })
})

describe('yatagarasu serve', () => {
  it('exits 1 with every problem listed when the config is invalid', async () => {
    const path = files.write('serve-bad.yaml', 'buckets:\n  - name: a\n    path_prefix: /a\n')
    const result = await runCli(['serve', '--config', path, '--port', '0'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('buckets[0].s3 (line 2): required')
  })

  it('proxies, and logs one JSON line per request without tokens or query strings', async () => {
    const server = await serve(configText())
    const first = await fetch(`${server.url}/public/hello.txt?X-Amz-Signature=zzz`)
    expect(first.status).toBe(200)
    expect(await first.text()).toBe('hello world')
    expect(first.headers.get('x-cache')).toBe('MISS')
    await untilCached(server, 'public')
    const second = await fetch(`${server.url}/public/hello.txt`)
    expect(second.headers.get('x-cache')).toBe('HIT')
    await second.text()
    expect((await fetch(`${server.url}/private/secret.txt`)).status).toBe(401)
    const jwt = await token()
    const authorized = await fetch(`${server.url}/private/secret.txt?token=${jwt}`)
    expect(authorized.status).toBe(200)
    expect(await authorized.text()).toBe('for alice')
    const viaHeader = await fetch(`${server.url}/private/secret.txt`, { headers: { Authorization: `Bearer ${jwt}` } })
    await viaHeader.text()
    const lastId = viaHeader.headers.get('x-request-id')

    const requestId = first.headers.get('x-request-id')
    const line = await server.waitForLog((l) => l.message === 'request' && l.requestId === requestId)
    expect(line).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      level: 'info',
      message: 'request',
      requestId,
      method: 'GET',
      path: '/public/hello.txt',
      bucket: 'public',
      key: 'hello.txt',
      status: 200,
      bytes: 11,
      durationMs: expect.any(Number),
      s3Ms: expect.any(Number),
      cache: 'MISS',
      clientIp: '127.0.0.1',
      userAgent: 'node',
      outcome: 'completed',
    })
    const alice = await server.waitForLog((l) => l.message === 'request' && l.user === 'alice' && l.status === 200)
    expect(alice).toMatchObject({ path: '/private/secret.txt', bucket: 'private', key: 'secret.txt' })
    await server.waitForLog((l) => l.message === 'request' && l.status === 401)
    await server.waitForLog((l) => l.message === 'request' && l.requestId === lastId) // the last request's line is out
    const output = server.output()
    expect(output).not.toContain(jwt)
    expect(output).not.toContain('X-Amz-Signature')
    expect(output).not.toContain(TEST_CREDENTIALS.secretAccessKey)
    expect(output).not.toContain(JWT_SECRET)
  })

  it('serves /health, /ready and /metrics (strict Prometheus text) on the same port', async () => {
    const server = await serve(configText())
    await (await fetch(`${server.url}/public/hello.txt`)).text()
    await (await fetch(`${server.url}/public/missing.txt`)).text()
    await (await fetch(`${server.url}/private/secret.txt?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad`)).text()

    const health = await fetch(`${server.url}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    const ready = await fetch(`${server.url}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready', buckets: { public: { ready: true }, private: { ready: true } } })
    expect((await fetch(`${server.url}/health`, { method: 'POST' })).status).toBe(405)

    const response = await fetch(`${server.url}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await response.text()
    const families = parsePrometheusText(text)
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]))
    expect(types).toMatchObject({
      yatagarasu_http_requests_total: 'counter',
      yatagarasu_http_request_duration_seconds: 'histogram',
      yatagarasu_http_response_bytes_total: 'counter',
      yatagarasu_http_requests_in_flight: 'gauge',
      yatagarasu_http_streams_in_flight: 'gauge',
      yatagarasu_s3_requests_total: 'counter',
      yatagarasu_s3_errors_total: 'counter',
      yatagarasu_s3_request_duration_seconds: 'histogram',
      yatagarasu_cache_hits_total: 'counter',
      yatagarasu_cache_misses_total: 'counter',
      yatagarasu_cache_bypasses_total: 'counter',
      yatagarasu_cache_evictions_total: 'counter',
      yatagarasu_cache_bytes: 'gauge',
      yatagarasu_cache_entries: 'gauge',
      yatagarasu_build_info: 'gauge',
      yatagarasu_config_reloads_total: 'counter',
      process_start_time_seconds: 'gauge',
      process_resident_memory_bytes: 'gauge',
    })
    for (const family of families.values()) {
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/)
      for (const sample of family.samples) {
        for (const [label, value] of Object.entries(sample.labels)) {
          expect(['bucket', 'method', 'status', 'reason', 'le', 'version', 'result']).toContain(label)
          expect(value).not.toMatch(/[?/=]|eyJ|token/i)
        }
      }
    }
    expect(valueOf(families, 'yatagarasu_http_requests_total', { bucket: 'public', method: 'GET', status: '200' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_http_requests_total', { bucket: 'public', method: 'GET', status: '404' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_http_requests_total', { bucket: 'private', method: 'GET', status: '401' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_s3_requests_total', { bucket: 'public', status: '404' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_cache_misses_total', { bucket: 'public' })).toBe(2)
    expect(valueOf(families, 'yatagarasu_cache_bytes', { bucket: 'public' })).toBeGreaterThan(11)
    expect(valueOf(families, 'yatagarasu_cache_entries', { bucket: 'public' })).toBe(1)
    expect(valueOf(families, 'yatagarasu_http_response_bytes_total', { bucket: 'public' })).toBeGreaterThanOrEqual(11)
  })

  it('serves metrics on a port of their own when metrics.port is set, with configurable paths', async () => {
    const server = await serve(
      `${configText()}metrics:\n  port: 0\n  path: /prom\nhealth:\n  path: /livez\n  ready_path: /readyz\n`,
    )
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/prom$/)
    expect(new URL(server.metricsUrl!).port).not.toBe(new URL(server.url).port)
    const metrics = await fetch(server.metricsUrl!)
    expect(metrics.status).toBe(200)
    parsePrometheusText(await metrics.text())
    expect((await fetch(`${server.url}/prom`)).status).toBe(404) // not on the proxy's port
    expect((await fetch(`${server.url}/livez`)).status).toBe(200)
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
  })

  it('is not ready while S3 cannot be reached, but stays alive', async () => {
    const closed = await freePort()
    const server = await serve(configText(), { ...s3Env(), S3_ENDPOINT: `http://127.0.0.1:${closed}` })
    const ready = await fetch(`${server.url}/ready`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({
      status: 'not ready',
      buckets: { public: { ready: false, reason: 'unreachable' }, private: { ready: false, reason: 'unreachable' } },
    })
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    expect((await fetch(`${server.url}/public/hello.txt`)).status).toBe(502)
  })

  it('reloads the config on SIGHUP; a bad file is reported and the running config stays', async () => {
    const path = files.write('reload.yaml', configText())
    const server = await startCliServer(path, s3Env())
    servers.push(server)
    expect((await fetch(`${server.url}/extra/hello.txt`)).status).toBe(404)

    files.write(
      'reload.yaml',
      configText(`  - name: extra
    path_prefix: /extra
${S3_FROM_ENV}`),
    )
    server.child.kill('SIGHUP')
    await server.waitForLog((l) => l.message === 'config reloaded')
    const extra = await fetch(`${server.url}/extra/hello.txt`)
    expect(extra.status).toBe(200)
    expect(await extra.text()).toBe('hello world')

    files.write('reload.yaml', `${configText()}  - name: broken\n    path_prefix: nope\n`)
    server.child.kill('SIGHUP')
    const failure = await server.waitForLog((l) => l.message.startsWith('config reload failed'))
    expect(failure.level).toBe('error')
    expect(failure.issues).toEqual(
      expect.arrayContaining([
        { path: 'buckets[2].path_prefix', line: 39, message: "must start with '/'" },
        { path: 'buckets[2].s3', line: 38, message: 'required' },
      ]),
    )
    // Still the config with /extra.
    expect((await fetch(`${server.url}/extra/hello.txt`)).status).toBe(200)
    expect((await fetch(`${server.url}/public/hello.txt`)).status).toBe(200)
    const metrics = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text())
    expect(valueOf(metrics, 'yatagarasu_config_reloads_total', { result: 'success' })).toBe(1)
    expect(valueOf(metrics, 'yatagarasu_config_reloads_total', { result: 'failure' })).toBe(1)
    expect(server.child.exitCode).toBeNull()
  })

  it('after a reload that moves a bucket to another S3 bucket, never serves what was cached from the old one', async () => {
    const path = files.write('reload-purge.yaml', configText())
    const server = await startCliServer(path, s3Env())
    servers.push(server)
    await (await fetch(`${server.url}/public/hello.txt`)).text()
    await untilCached(server, 'public')
    const cached = await fetch(`${server.url}/public/hello.txt`)
    expect(await cached.text()).toBe('hello world')
    expect(cached.headers.get('x-cache')).toBe('HIT')

    files.write('reload-purge.yaml', configText().replace('      bucket: assets\n', '      bucket: other\n'))
    server.child.kill('SIGHUP')
    await server.waitForLog((l) => l.message === 'config reloaded')
    const moved = await fetch(`${server.url}/public/hello.txt`)
    expect(await moved.text()).toBe('hello from the other bucket')
    expect(moved.headers.get('x-cache')).toBe('MISS')
  })

  it('on SIGTERM, lets a running download finish, refuses new connections, and exits 0', async () => {
    const server = await serve(configText())
    const { port } = new URL(server.url)
    const download = startDownload(Number(port), '/public/slow.bin')
    const firstBytes = await download.firstChunk
    expect(firstBytes).toBeGreaterThan(0)

    server.child.kill('SIGTERM')
    await server.waitForLog((l) => l.message.startsWith('shutting down'))
    await expect(connect(Number(port))).rejects.toThrow(/ECONNREFUSED/)

    const { status, bytes } = await download.done
    expect(status).toBe(200)
    expect(bytes).toBe(SLOW_SIZE)
    expect(await server.exited).toBe(0)
    expect(server.logs.some((l) => l.message === 'stopped')).toBe(true)
  })

  it('closes what is left after shutdown.timeout_seconds, and still exits 0', async () => {
    const server = await serve(`${configText()}shutdown:\n  timeout_seconds: 0.3\n`)
    const download = startDownload(Number(new URL(server.url).port), '/public/slow.bin')
    await download.firstChunk
    server.child.kill('SIGTERM')
    const { bytes } = await download.done
    expect(bytes).toBeLessThan(SLOW_SIZE)
    expect(await server.exited).toBe(0)
    expect(server.logs.some((l) => l.message.startsWith('shutdown: closing'))).toBe(true)
  })
})

/** A GET over a raw http request, to see the bytes as they arrive. */
function startDownload(port: number, path: string): { firstChunk: Promise<number>; done: Promise<{ status: number; bytes: number }> } {
  let onFirst!: (bytes: number) => void
  let failFirst!: (error: Error) => void
  const firstChunk = new Promise<number>((resolve, reject) => {
    onFirst = resolve
    failFirst = reject
  })
  const done = new Promise<{ status: number; bytes: number }>((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let bytes = 0
      response.on('data', (chunk: Buffer) => {
        if (bytes === 0) onFirst(chunk.length)
        bytes += chunk.length
      })
      const finish = () => resolve({ status: response.statusCode ?? 0, bytes })
      response.on('end', finish)
      response.on('aborted', finish)
      response.on('error', finish)
    })
    request.on('error', (error) => {
      failFirst(error)
      reject(error)
    })
  })
  return { firstChunk, done }
}

function connect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve()
    })
    socket.once('error', reject)
  })
}

