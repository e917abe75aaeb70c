/**
 * The standalone server's top-level `cache` block and `rate_limiting.store: redis`, over
 * real HTTP against the S3 harness and a real redis-server: two server instances from
 * one YAML share the Redis layer (a miss on one is a hit on the other, S3 asked once),
 * the disk layer survives a restart, a purge reaches both, rate limits hold across them,
 * and Redis going away is served around (fail open) — logged and counted in metrics.
 */
import { createClient } from 'redis'
import { describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server/server.js'
import { parsePrometheusText, valueOf } from '../support/prometheus-text.js'
import { startRedis } from '../support/redis-server.js'
import { serverSuite } from '../support/server-suite.js'
import { TEST_CREDENTIALS } from '../support/test-s3.js'
import { until } from '../support/wait.js'

describe('server: cache layers and shared rate limits', () => {
  const suite = serverSuite({
    objects: [
      ['a.txt', 'alpha', { 'content-type': 'text/plain' }],
      ['img/b.txt', 'bravo'],
      ['img/c.txt', 'charlie'],
    ],
    parseLog: (line) => JSON.parse(line) as Record<string, unknown>,
  })
  const { logs, start } = suite
  const config = (block: string, bucketExtra = '') => suite.config({ pathPrefix: '/cdn', head: 'logging: { level: debug }\n', bucketExtra, rest: block })

  async function metricsOf(server: RunningServer) {
    return parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text())
  }

  /** Resolves once Redis holds the cache entry (the fill writes after the response). */
  async function inRedis(key: string): Promise<void> {
    const client = await createClient({ url: suite.redis.url }).connect()
    try {
      await until(async () => (await client.exists(key)) === 1, `${key} in Redis`, 10_000, 10)
    } finally {
      client.destroy()
    }
  }

  it('memory then redis: a miss on one instance is a hit from Redis on the other, then from its memory; S3 asked once', async () => {
    const path = config(`cache:\n  cache_layers: [memory, redis]\n  redis: { redis_url: "\${REDIS_URL}", redis_key_prefix: "t1:" }\n`)
    const [a, b] = [await start(path), await start(path)]

    const first = await fetch(`${a.url}/cdn/a.txt`)
    expect([first.status, first.headers.get('x-cache'), await first.text()]).toEqual([200, 'MISS', 'alpha'])
    await inRedis('t1:cdn/a.txt')

    const fromRedis = await fetch(`${b.url}/cdn/a.txt`)
    expect([fromRedis.status, fromRedis.headers.get('x-cache'), fromRedis.headers.get('x-cache-layer'), await fromRedis.text()]).toEqual([200, 'HIT', 'redis', 'alpha'])
    expect(fromRedis.headers.get('content-type')).toBe('text/plain')
    // Copied into b's memory in the background: asked until that copy answers.
    expect(await layerAnswering(`${b.url}/cdn/a.txt`, 'memory')).toBe('memory')
    expect(suite.s3.requests.filter((request) => request.key === 'a.txt')).toHaveLength(1)

    const families = await metricsOf(b)
    expect(valueOf(families, 'yatagarasu_cache_layer_hits_total', { layer: 'redis' })).toBeGreaterThanOrEqual(1)
    expect(valueOf(families, 'yatagarasu_cache_layer_hits_total', { layer: 'memory' })).toBeGreaterThanOrEqual(1)
    expect(valueOf(families, 'yatagarasu_cache_layer_entries', { layer: 'memory' })).toBe(1)
  })

  it('disk: what was cached is served from disk after a restart, without S3', async () => {
    const dir = `${suite.files.dir}/disk-cache`
    const path = config(`cache:\n  cache_layers: [memory, disk]\n  disk: { cache_dir: "${dir}", max_disk_cache_size_mb: 16 }\n`)
    const before = await start(path)
    expect((await fetch(`${before.url}/cdn/img/c.txt`)).headers.get('x-cache')).toBe('MISS')
    expect(await layerAnswering(`${before.url}/cdn/img/c.txt`, 'memory')).toBe('memory')
    await before.shutdown() // shutting down again after the test returns the same promise
    suite.s3.reset()

    const after = await start(path)
    const response = await fetch(`${after.url}/cdn/img/c.txt`)
    expect([response.headers.get('x-cache'), response.headers.get('x-cache-layer'), await response.text()]).toEqual(['HIT', 'disk', 'charlie'])
    expect(suite.s3.requests).toHaveLength(0)
  })

  it('Redis down: requests are served from the other layers and S3; the failures are logged and counted', async () => {
    const own = await startRedis()
    try {
      const path = config(`cache:\n  cache_layers: [memory, redis]\n  redis: { redis_url: "\${OWN_REDIS}" }\n`)
      const server = await start(path, { OWN_REDIS: own.url })
      await own.stop()
      const response = await fetch(`${server.url}/cdn/img/b.txt`)
      expect([response.status, response.headers.get('x-cache'), await response.text()]).toEqual([200, 'MISS', 'bravo'])
      // The memory layer still works.
      expect(await layerAnswering(`${server.url}/cdn/img/b.txt`, 'memory')).toBe('memory')
      const families = await metricsOf(server)
      expect(valueOf(families, 'yatagarasu_cache_layer_errors_total', { layer: 'redis', operation: 'get' })).toBeGreaterThanOrEqual(1)
      expect(logs.some((line) => line.message === 'cache layer failed; skipped' && line.layer === 'redis')).toBe(true)
      expect(JSON.stringify(logs)).not.toContain(own.url)
    } finally {
      await own.stop()
    }
  })

  it('rate_limiting.store: redis holds one limit across instances, and lets requests through (counted) when Redis is down', async () => {
    const own = await startRedis()
    try {
      const path = config(
        `rate_limiting:\n  store: redis\n  redis_url: "\${OWN_REDIS}"\n`,
        `    rate_limiting: { requests_per_second: 0.01, burst_size: 3, key: global }\n`,
      )
      const [a, b] = [await start(path, { OWN_REDIS: own.url }), await start(path, { OWN_REDIS: own.url })]
      const statuses: number[] = []
      for (const server of [a, b, a, b]) {
        const response = await fetch(`${server.url}/cdn/a.txt`)
        await response.arrayBuffer()
        statuses.push(response.status)
      }
      expect(statuses).toEqual([200, 200, 200, 429])

      await own.stop()
      const through = await fetch(`${a.url}/cdn/a.txt`)
      await through.arrayBuffer()
      expect(through.status).toBe(200)
      expect(valueOf(await metricsOf(a), 'yatagarasu_rate_limit_fail_open_total')).toBeGreaterThanOrEqual(1)
      expect(logs.some((line) => line.message === 'redis rate limit store unavailable; letting requests through')).toBe(true)
    } finally {
      await own.stop()
    }
  })

  it('default_ttl_seconds is the TTL of buckets that give none; redis_ttl_seconds caps the time in Redis', async () => {
    const bucket = (name: string, cache: string) =>
      `  - name: ${name}\n    path_prefix: /${name}\n    s3: { bucket: assets, region: us-east-1, endpoint: "${suite.s3.endpoint}", access_key: ${TEST_CREDENTIALS.accessKeyId}, secret_key: ${TEST_CREDENTIALS.secretAccessKey} }\n    cache: ${cache}\n`
    const path = suite.files.write(
      'ttl.yaml',
      `server: { address: "127.0.0.1:0" }\nbuckets:\n${bucket('plain', '{}')}${bucket('long', '{ ttl: 600 }')}cache:
  cache_layers: [redis]
  memory: { default_ttl_seconds: 123 }
  redis: { redis_url: "\${REDIS_URL}", redis_key_prefix: "t5:", redis_ttl_seconds: 300 }
`,
    )
    const server = await start(path)
    await (await fetch(`${server.url}/plain/a.txt`)).arrayBuffer()
    await (await fetch(`${server.url}/long/a.txt`)).arrayBuffer()
    await inRedis('t5:plain/a.txt')
    await inRedis('t5:long/a.txt')
    const client = await createClient({ url: suite.redis.url }).connect()
    try {
      const plain = await client.pTTL('t5:plain/a.txt')
      const long = await client.pTTL('t5:long/a.txt')
      expect(plain).toBeGreaterThan(100_000)
      expect(plain).toBeLessThanOrEqual(123_000)
      expect(long).toBeGreaterThan(250_000)
      expect(long).toBeLessThanOrEqual(300_000)
    } finally {
      client.destroy()
    }
  })
})

/** Asks until the response comes from `layer` (a copy made in the background), at most for 10 s; returns the last layer seen. */
async function layerAnswering(url: string, layer: string): Promise<string | null> {
  let seen: string | null = null
  const answered = async () => {
    const response = await fetch(url)
    await response.arrayBuffer()
    seen = response.headers.get('x-cache-layer')
    return seen === layer
  }
  await until(answered, `${url} from ${layer}`, 10_000, 10).catch(() => {}) // the caller's expect shows what answered instead
  return seen
}
