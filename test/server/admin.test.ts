/**
 * The admin API of the standalone server, over real HTTP against the S3 harness and a
 * real redis-server: the bearer token (401 otherwise, never logged), purge of a key, a
 * prefix, a bucket and everything — seen by a second instance sharing Redis — stats,
 * prewarm (ListObjectsV2 signed with the bucket's credentials; status; cancel), reload,
 * the metrics port, precedence over bucket routes, and plain paths when disabled.
 */
import { describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server/server.js'
import { serverSuite } from '../support/server-suite.js'
import { until } from '../support/wait.js'

const TOKEN = 'admin-token-for-tests-0123456789'

describe('server: the admin API', () => {
  const suite = serverSuite({
    objects: ['a.txt', 'img/1.txt', 'img/2.txt', 'img/3.txt', 'img/sub/4 + x.txt', 'doc/d.txt', 'admin/cache/stats'].map((key) => [key, `body of ${key}`] as const),
    parseLog: (line) => line,
  })
  const { logs } = suite
  const config = (admin: string, extra = '') => suite.config({ pathPrefix: '/', rest: `${admin}${extra}` })
  const ADMIN = `admin:\n  enabled: true\n  token: "\${ADMIN_TOKEN}"\n`
  const SHARED = `cache:\n  cache_layers: [memory, redis]\n  redis: { redis_url: "\${REDIS_URL}", redis_key_prefix: "adm\${SUFFIX}:" }\n`

  const start = (path: string, suffix = ''): Promise<RunningServer> => suite.start(path, { ADMIN_TOKEN: TOKEN, SUFFIX: suffix })

  const auth = { Authorization: `Bearer ${TOKEN}` }
  const call = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  const cacheOf = async (url: string) => {
    const response = await fetch(url)
    await response.arrayBuffer()
    return response.headers.get('x-cache')
  }

  it('refuses a missing or wrong token with 401 before doing anything; the token is never logged', async () => {
    const server = await start(config(ADMIN))
    await cacheOf(`${server.url}/a.txt`)
    for (const headers of [{} as Record<string, string>, { Authorization: 'Bearer wrong' }, { Authorization: `Basic ${TOKEN}` }, { Authorization: `Bearer ${TOKEN}x` }]) {
      const response = await fetch(`${server.url}/admin/cache/purge`, { method: 'POST', headers })
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('Unauthorized')
    }
    expect(await cacheOf(`${server.url}/a.txt`)).toBe('HIT')
    expect((await call(`${server.url}/admin/cache/purge`, { method: 'POST' })).body).toEqual({ purged: 1 })
    expect(logs.join('\n')).not.toContain(TOKEN)
  })

  it('purges a key, a prefix, a bucket and everything; a second instance sharing Redis stops serving them too', async () => {
    const path = config(ADMIN, SHARED)
    const [a, b] = [await start(path, '1'), await start(path, '1')]
    const keys = ['a.txt', 'img/1.txt', 'img/2.txt', 'doc/d.txt']
    for (const key of keys) expect(await cacheOf(`${a.url}/${key}`)).toBe('MISS')
    // b has them from Redis, then in its own memory.
    for (const key of keys) {
      await until(async () => {
        const response = await fetch(`${b.url}/${key}`)
        await response.arrayBuffer()
        return response.headers.get('x-cache-layer') === 'memory'
      }, `${key} in b's memory`, 10_000, 10)
    }
    suite.s3.reset()

    expect(await call(`${a.url}/admin/cache/purge/cdn/a.txt`, { method: 'POST' })).toEqual({ status: 200, body: { purged: 1 } })
    expect((await call(`${a.url}/admin/cache/purge/cdn?prefix=img/`, { method: 'POST' })).body).toEqual({ purged: 2 })
    // The purge reached b's memory through Redis pub/sub: b asks S3 again.
    await eventually(async () => (await cacheOf(`${b.url}/a.txt`)) === 'MISS')
    await eventually(async () => (await cacheOf(`${b.url}/img/1.txt`)) === 'MISS')
    expect(await cacheOf(`${b.url}/doc/d.txt`)).toBe('HIT')

    expect((await call(`${b.url}/admin/cache/purge/cdn`, { method: 'POST' })).body.purged).toBeGreaterThanOrEqual(1)
    await eventually(async () => (await cacheOf(`${a.url}/doc/d.txt`)) === 'MISS')
    expect((await call(`${a.url}/admin/cache/purge`, { method: 'POST' })).status).toBe(200)
    await eventually(async () => (await cacheOf(`${b.url}/doc/d.txt`)) === 'MISS')

    expect(await call(`${a.url}/admin/cache/purge/nope`, { method: 'POST' })).toMatchObject({ status: 404 })
    expect((await fetch(`${a.url}/admin/cache/purge`, { headers: auth })).status).toBe(405)
  })

  it('stats: per layer and per bucket entries, bytes, hits, misses', async () => {
    const server = await start(config(ADMIN, SHARED), '2')
    await cacheOf(`${server.url}/a.txt`)
    await eventually(async () => (await cacheOf(`${server.url}/a.txt`)) === 'HIT')
    const { status, body } = await call(`${server.url}/admin/cache/stats`)
    expect(status).toBe(200)
    const layers = body.layers as Array<Record<string, unknown>>
    expect(layers.map((layer) => layer.layer)).toEqual(['memory', 'redis'])
    expect(layers[0]).toMatchObject({ entries: 1, hits: 1 })
    expect(layers[1]).toMatchObject({ entries: null, bytes: null })
    const buckets = body.buckets as Array<Record<string, unknown>>
    expect(buckets).toEqual([expect.objectContaining({ bucket: 'cdn', hits: 1 })])
    expect(buckets[0]!.misses).toBeGreaterThanOrEqual(1)
  })

  it('prewarm: lists the prefix with the bucket credentials and fills the cache; status; unknown buckets refused', async () => {
    const server = await start(config(ADMIN))
    const started = await call(`${server.url}/admin/cache/prewarm`, { method: 'POST', body: JSON.stringify({ bucket: 'cdn', prefix: 'img/' }) })
    expect(started.status).toBe(202)
    const id = started.body.id as string
    let job: Record<string, unknown> = {}
    await eventually(async () => {
      job = (await call(`${server.url}/admin/cache/prewarm/${id}`)).body
      return job.state !== 'running'
    })
    const sizes = ['img/1.txt', 'img/2.txt', 'img/3.txt', 'img/sub/4 + x.txt'].map((key) => `body of ${key}`.length)
    expect(job).toEqual({ id, bucket: 'cdn', prefix: 'img/', state: 'done', objects: 4, bytes: sizes.reduce((a, b) => a + b) })
    const list = suite.s3.requests.find((request) => request.rawQuery.includes('list-type=2'))
    expect(list).toMatchObject({ signature: 'valid', bucket: 'assets' })
    expect(list!.rawQuery).toContain('prefix=img%2F')
    suite.s3.reset()
    expect(await cacheOf(`${server.url}/img/sub/4%20%2B%20x.txt`)).toBe('HIT')
    expect(await cacheOf(`${server.url}/img/2.txt`)).toBe('HIT')
    expect(suite.s3.requests).toHaveLength(0)

    expect(await call(`${server.url}/admin/cache/prewarm`, { method: 'POST', body: JSON.stringify({ bucket: 'nope' }) })).toMatchObject({ status: 404 })
    expect(await call(`${server.url}/admin/cache/prewarm`, { method: 'POST', body: '{' })).toMatchObject({ status: 400 })
    expect(await call(`${server.url}/admin/cache/prewarm/unknown-id`)).toMatchObject({ status: 404 })
  })

  it('prewarm: DELETE cancels a running job (the transfer in progress stops)', async () => {
    await suite.s3.put('assets', 'slow/big.bin', new Uint8Array(256 * 1024))
    suite.s3.throttle('assets', 'slow/big.bin', { chunkSize: 1024, intervalMs: 50 })
    const server = await start(config(ADMIN))
    const id = (await call(`${server.url}/admin/cache/prewarm`, { method: 'POST', body: JSON.stringify({ bucket: 'cdn', prefix: 'slow/' }) })).body.id as string
    await eventually(async () => suite.s3.requests.some((request) => request.key === 'slow/big.bin'))
    const cancelled = await call(`${server.url}/admin/cache/prewarm/${id}`, { method: 'DELETE' })
    expect(cancelled).toMatchObject({ status: 200, body: { id, state: 'cancelled', objects: 0 } })
    const transfer = suite.s3.requests.find((request) => request.key === 'slow/big.bin')!
    expect((await transfer.done).completed).toBe(false)
    expect((await call(`${server.url}/admin/cache/prewarm/${id}`)).body.state).toBe('cancelled')
  })

  it('reload: as SIGHUP, answers whether the new config is in force', async () => {
    const path = config(ADMIN)
    const server = await start(path)
    expect(await call(`${server.url}/admin/reload`, { method: 'POST' })).toEqual({ status: 200, body: { reloaded: true } })
    expect(logs.some((line) => line.includes('"config reloaded"'))).toBe(true)
    suite.files.write(path.split('/').pop()!, 'buckets: []\n')
    expect(await call(`${server.url}/admin/reload`, { method: 'POST' })).toEqual({ status: 500, body: { reloaded: false } })
  })

  it('is served on the metrics port when it has its own, and takes precedence over bucket routes', async () => {
    const server = await start(config(ADMIN, 'metrics: { port: 0, host: 127.0.0.1 }\n'))
    const metricsBase = new URL(server.metricsUrl!).origin
    expect((await call(`${metricsBase}/admin/cache/stats`)).status).toBe(200)
    expect((await fetch(`${metricsBase}/admin/cache/stats`)).status).toBe(401)
    // The bucket at / has an object named admin/cache/stats: the admin route wins.
    expect((await fetch(`${server.url}/admin/cache/stats`)).status).toBe(401)
  })

  it('disabled (the default): the admin paths are plain bucket paths', async () => {
    const server = await start(config(''))
    const response = await fetch(`${server.url}/admin/cache/stats`)
    expect([response.status, await response.text()]).toEqual([200, 'body of admin/cache/stats'])
    expect((await fetch(`${server.url}/admin/reload`, { method: 'POST' })).status).toBe(405)
  })
})

/** Polls an async condition (state in another process, announced by no event) until true. */
const eventually = (condition: () => Promise<boolean>) => until(condition, 'a condition', 10_000, 20)
