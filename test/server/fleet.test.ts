/**
 * The fleet (issue 15 item 6): three server processes (the built CLI) from ONE YAML file,
 * one real redis-server, the S3 stand-in behind the SigV4-verifying front. A miss on one
 * is a hit on the others with S3 asked once; a purge through one's admin API is seen by
 * all; a rate limit kept in Redis holds across them; Redis killed mid-run: each keeps
 * serving from its own memory layer and S3 (logged, counted in metrics), and when Redis
 * returns the shared layer and the shared limit work again. The steps run in order on
 * the same fleet. No sleeps: every wait is on a log line, Redis' own state, or a
 * condition polled with a deadline.
 */
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, startCliServer, tempDir, type CliServer } from '../support/cli.js'
import { parsePrometheusText, valueOf } from '../support/prometheus-text.js'
import { startRedis, type TestRedis } from '../support/redis-server.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import { until } from '../support/wait.js'

const ADMIN_TOKEN = 'fleet-admin-token-0123456789'

const CONFIG = `logging: { level: info, format: json }
metrics: { enabled: true }
admin:
  enabled: true
  token: "\${ADMIN_TOKEN}"
cache:
  cache_layers: ["memory", "redis"]
  memory: { max_cache_size_mb: 16 }
  redis: { redis_url: "\${REDIS_URL}", redis_key_prefix: "fleet:" }
rate_limiting:
  store: redis
buckets:
  - name: cdn
    path_prefix: /cdn
    s3: { bucket: assets, region: us-east-1, endpoint: "\${S3_ENDPOINT}", access_key: "\${S3_ACCESS_KEY}", secret_key: "\${S3_SECRET_KEY}" }
    cache: { ttl: 600 }
  - name: limited
    path_prefix: /limited
    s3: { bucket: assets, region: us-east-1, endpoint: "\${S3_ENDPOINT}", access_key: "\${S3_ACCESS_KEY}", secret_key: "\${S3_SECRET_KEY}" }
    rate_limiting: { requests_per_second: 0.001, burst_size: 3, key: global }
`

let s3: TestS3
let redis: TestRedis
let files: ReturnType<typeof tempDir>
let fleet: CliServer[] = []

/** Polls `check` (state across processes) until it holds; the deadline only turns a hang into a readable failure. */
const eventually = (check: () => Promise<boolean>, what: string) => until(check, what, 20_000, 20)

async function get(server: CliServer, path: string): Promise<{ status: number; cache: string | null; layer: string | null; body: string }> {
  const response = await fetch(`${server.url}${path}`)
  return { status: response.status, cache: response.headers.get('x-cache'), layer: response.headers.get('x-cache-layer'), body: await response.text() }
}

async function inRedis(key: string): Promise<boolean> {
  const client = await createClient({ url: redis.url }).connect()
  try {
    return (await client.exists(key)) === 1
  } finally {
    client.destroy()
  }
}

async function metricsOf(server: CliServer) {
  return parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text())
}

const s3Asked = (key: string) => s3.requests.filter((request) => request.key === key).length

beforeAll(async () => {
  assertBuilt()
  files = tempDir()
  ;[s3, redis] = await Promise.all([startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }] }), startRedis()])
  await Promise.all([
    s3.put('assets', 'a.txt', 'alpha', { 'Content-Type': 'text/plain' }),
    s3.put('assets', 'b.txt', 'bravo', { 'Content-Type': 'text/plain' }),
    s3.put('assets', 'c.txt', 'charlie', { 'Content-Type': 'text/plain' }),
  ])
  const path = files.write('fleet.yaml', CONFIG)
  const env = {
    REDIS_URL: redis.url,
    ADMIN_TOKEN,
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: TEST_CREDENTIALS.accessKeyId,
    S3_SECRET_KEY: TEST_CREDENTIALS.secretAccessKey,
  }
  fleet = await Promise.all([startCliServer(path, env), startCliServer(path, env), startCliServer(path, env)])
}, 60_000)

afterAll(async () => {
  await Promise.all(fleet.map((server) => server.kill()))
  await redis?.stop()
  await s3?.close()
  files?.cleanup()
})

describe('a fleet of three servers sharing one Redis', () => {
  it('a miss on one is a hit on the others, S3 asked once', async () => {
    const [a, b, c] = fleet as [CliServer, CliServer, CliServer]
    expect(await get(a, '/cdn/a.txt')).toMatchObject({ status: 200, cache: 'MISS', body: 'alpha' })
    await eventually(() => inRedis('fleet:cdn/a.txt'), 'the entry in Redis')
    for (const other of [b, c]) expect(await get(other, '/cdn/a.txt')).toEqual({ status: 200, cache: 'HIT', layer: 'redis', body: 'alpha' })
    expect(s3Asked('a.txt')).toBe(1)
  })

  it('a purge through one instance’s admin API is seen by all of them, memory layers included', async () => {
    const [a, b, c] = fleet as [CliServer, CliServer, CliServer]
    // Each holds a.txt in its own memory layer first (copied there after the Redis hit).
    for (const server of fleet) await eventually(async () => (await get(server, '/cdn/a.txt')).layer === 'memory', 'a memory copy')
    await s3.put('assets', 'a.txt', 'alpha v2', { 'Content-Type': 'text/plain' })

    const refused = await fetch(`${a.url}/admin/cache/purge/cdn/a.txt`, { method: 'POST' })
    expect(refused.status).toBe(401)
    await refused.arrayBuffer()
    const purge = await fetch(`${a.url}/admin/cache/purge/cdn/a.txt`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(purge.status).toBe(200)
    expect(await purge.json()).toHaveProperty('purged')

    expect(await get(a, '/cdn/a.txt')).toMatchObject({ status: 200, body: 'alpha v2' })
    // The others drop their copies when the purge message reaches them over Redis.
    for (const server of [b, c]) await eventually(async () => (await get(server, '/cdn/a.txt')).body === 'alpha v2', 'the purge on another instance')
  })

  it('a rate limit kept in Redis holds across the instances', async () => {
    const statuses: number[] = []
    for (const server of [...fleet, fleet[0]!]) statuses.push((await get(server, '/limited/b.txt')).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    for (const server of fleet.slice(1)) expect((await get(server, '/limited/b.txt')).status).toBe(429)
  })

  it('Redis killed: each serves from its own memory layer and S3, logged and counted; when Redis returns, sharing resumes', async () => {
    await redis.stop()

    for (const server of fleet) {
      // A key none of them has: S3 answers, the Redis layer is skipped.
      expect(await get(server, '/cdn/b.txt')).toMatchObject({ status: 200, cache: 'MISS', body: 'bravo' })
      // And the instance's own memory layer serves it from then on.
      await eventually(async () => (await get(server, '/cdn/b.txt')).layer === 'memory', 'the memory layer')
      // The shared rate limit fails open: requests go through instead of failing.
      expect((await get(server, '/limited/b.txt')).status).toBe(200)
    }
    for (const server of fleet) {
      const families = await metricsOf(server)
      expect(valueOf(families, 'yatagarasu_cache_layer_errors_total', { layer: 'redis', operation: 'get' })).toBeGreaterThanOrEqual(1)
      expect(valueOf(families, 'yatagarasu_rate_limit_fail_open_total')).toBeGreaterThanOrEqual(1)
      expect(server.logs.some((line) => line.message === 'cache layer failed; skipped' && line.layer === 'redis')).toBe(true)
      expect(server.output()).not.toContain(redis.url)
    }

    // Redis comes back (empty) on the same port; every instance reconnects by itself.
    redis = await startRedis({ port: redis.port })
    await Promise.all(fleet.map((server) => server.waitForLog((line) => line.message === 'redis cache store: connected again', 20_000)))

    const [a, b, c] = fleet as [CliServer, CliServer, CliServer]
    expect(await get(a, '/cdn/c.txt')).toMatchObject({ status: 200, cache: 'MISS', body: 'charlie' })
    await eventually(() => inRedis('fleet:cdn/c.txt'), 'the entry in Redis again')
    for (const other of [b, c]) expect(await get(other, '/cdn/c.txt')).toEqual({ status: 200, cache: 'HIT', layer: 'redis', body: 'charlie' })
    expect(s3Asked('c.txt')).toBe(1)

    // The shared limit holds again: the burst of 3 is spent across the fleet, then 429 everywhere.
    await eventually(async () => (await get(a, '/limited/c.txt')).status === 429, 'the limit on the first instance')
    for (const server of [b, c]) await eventually(async () => (await get(server, '/limited/c.txt')).status === 429, 'the shared limit on another instance')
  })
})
