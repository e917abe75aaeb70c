/**
 * The server's top-level `cache` block and `rate_limiting.store`: defaults, resolution,
 * and the config errors (unknown layer, a layer without what it needs, a handler asked
 * for Node-only layers by itself).
 */
import { describe, expect, it } from 'vitest'
import { createCache, createYatagarasu } from '../../src/index.js'
import { parseConfig } from '../../src/config/parse.js'
import { resolveConfig } from '../../src/config/resolve.js'
import { ConfigError, type ConfigIssue } from '../../src/errors.js'
import { checkServerBlocks, resolveServerSettings, serverBlocks } from '../../src/server/settings.js'

const BUCKETS = `buckets:
  - name: cdn
    path_prefix: /cdn
    s3: { bucket: assets, region: us-east-1, endpoint: "http://s3.test", access_key: AK, secret_key: SK }
`

const load = (text: string, env: Record<string, string> = {}) =>
  parseConfig(BUCKETS + text, env, { blocks: serverBlocks, check: checkServerBlocks, onWarning: (warning) => expect.unreachable(warning.path) })

function issuesOf(text: string, env: Record<string, string> = {}): Array<Pick<ConfigIssue, 'path' | 'message'>> {
  try {
    load(text, env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).issues.map(({ path, message }) => ({ path, message }))
  }
  return expect.unreachable('the config was accepted')
}

describe('the top-level cache block', () => {
  it('is absent by default: a memory store per bucket, memory rate limits', () => {
    const settings = resolveServerSettings(load(''))
    expect(settings.cache).toBeUndefined()
    expect(settings.rateLimitStore).toEqual({ kind: 'memory' })
  })

  it('defaults to one memory layer of 256 MB, items up to 10 MB, TTL 3600 s', () => {
    expect(resolveServerSettings(load('cache: {}\n')).cache).toEqual({
      layers: ['memory'],
      memory: { maxSize: 256 * 2 ** 20, maxItemSize: 10 * 2 ** 20, defaultTtl: 3600 },
    })
  })

  it('reads the original Yatagarasu shape, ${VAR}s included', () => {
    const text = `cache:
  cache_layers: ["memory", "disk", "redis"]
  memory: { max_cache_size_mb: 64, max_item_size_mb: 2, default_ttl_seconds: 60 }
  disk: { cache_dir: "/var/cache/y", max_disk_cache_size_mb: 1024 }
  redis: { redis_url: "\${REDIS_URL}", redis_password: "\${REDIS_PASSWORD:-}", redis_db: 2, redis_key_prefix: "fleet:", redis_ttl_seconds: 7200 }
rate_limiting:
  store: redis
`
    const config = load(text, { REDIS_URL: 'redis://:pw@10.0.0.1:6379' })
    const settings = resolveServerSettings(config)
    expect(settings.cache).toEqual({
      layers: ['memory', 'disk', 'redis'],
      memory: { maxSize: 64 * 2 ** 20, maxItemSize: 2 * 2 ** 20, defaultTtl: 60 },
      disk: { directory: '/var/cache/y', maxSize: 1024 * 2 ** 20 },
      redis: { url: 'redis://:pw@10.0.0.1:6379', database: 2, keyPrefix: 'fleet:', maxTtl: 7200 },
    })
    // The store takes the cache's Redis when it has no redis_url of its own.
    expect(settings.rateLimitStore).toEqual({ kind: 'redis', url: 'redis://:pw@10.0.0.1:6379', database: 2, keyPrefix: 'fleet:ratelimit:' })
    // Without requests_per_second there is no top-level limit: the buckets' own limits use the store.
    expect(resolveConfig(config).rateLimiting).toBeUndefined()
    // The Redis URL (it may hold a password) prints masked.
    expect(JSON.stringify(config)).not.toContain(':pw@')
  })

  it('rate_limiting.redis_url wins over the cache connection', () => {
    const settings = resolveServerSettings(load('cache: { redis: { redis_url: "redis://cache:6379", redis_db: 3 } }\nrate_limiting: { store: redis, redis_url: "redis://limits:6379" }\n'))
    expect(settings.rateLimitStore).toEqual({ kind: 'redis', url: 'redis://limits:6379', database: 0, keyPrefix: 'yatagarasu:ratelimit:' })
  })

  it('refuses an unknown layer, a layer twice, and an empty list', () => {
    expect(issuesOf('cache: { cache_layers: [memory, ssd] }\n')).toEqual([{ path: 'cache.cache_layers[1]', message: 'must be memory, disk or redis' }])
    expect(issuesOf('cache: { cache_layers: [memory, memory] }\n')).toEqual([{ path: 'cache.cache_layers', message: 'must not name a layer twice' }])
    expect(issuesOf('cache: { cache_layers: [] }\n')).toEqual([{ path: 'cache.cache_layers', message: 'must name at least one layer (memory, disk, redis)' }])
  })

  it('needs cache_dir for disk and redis_url for redis (an empty ${VAR:-} counts as missing)', () => {
    expect(issuesOf('cache: { cache_layers: [memory, disk, redis], redis: { redis_url: "${REDIS_URL:-}" } }\n')).toEqual([
      { path: 'cache.disk.cache_dir', message: 'required when cache_layers has disk' },
      { path: 'cache.redis.redis_url', message: 'required when cache_layers has redis' },
    ])
  })

  it('needs a Redis for rate_limiting.store: redis, and refuses other stores', () => {
    expect(issuesOf('rate_limiting: { store: redis }\n')).toEqual([
      { path: 'rate_limiting.redis_url', message: 'required with store: redis (or give cache.redis.redis_url)' },
    ])
    expect(issuesOf('rate_limiting: { store: etcd, requests_per_second: 5 }\n')).toEqual([{ path: 'rate_limiting.store', message: 'must be memory or redis' }])
    // Without a store the limit itself is still required, and a bucket takes no store.
    expect(issuesOf('rate_limiting: { burst_size: 5 }\n')).toEqual([{ path: 'rate_limiting.requests_per_second', message: 'required' }])
  })

  it('checks the sizes and the database number', () => {
    expect(issuesOf('cache: { memory: { max_cache_size_mb: 0 }, redis: { redis_url: "redis://r", redis_db: 16 } }\n')).toEqual([
      { path: 'cache.memory.max_cache_size_mb', message: 'must be a positive number of megabytes' },
      { path: 'cache.redis.redis_db', message: 'must be a database number from 0 to 15' },
    ])
  })
})

describe('the admin block', () => {
  it('is off by default, and needs a token when enabled (the token prints masked)', () => {
    expect(resolveServerSettings(load('')).admin).toEqual({ enabled: false })
    const config = load('admin: { enabled: true, token: "${ADMIN_TOKEN}" }\n', { ADMIN_TOKEN: 's3cr3t-token' })
    expect(resolveServerSettings(config).admin).toEqual({ enabled: true, token: 's3cr3t-token' })
    expect(JSON.stringify(config)).not.toContain('s3cr3t-token')
    expect(issuesOf('admin: { enabled: true, token: "${ADMIN_TOKEN:-}" }\n')).toEqual([
      { path: 'admin.token', message: 'required when admin is enabled (a bearer token, e.g. "${ADMIN_TOKEN}")' },
    ])
  })
})

describe('a handler by itself (createYatagarasu, the edge bundle)', () => {
  const config = (extra: Record<string, unknown>) => ({
    buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3: { bucket: 'assets', region: 'us-east-1', accessKey: 'AK', secretKey: 'SK' } }],
    ...extra,
  })

  it('refuses disk and redis layers it was not given a cache for, naming what to pass', () => {
    let error: unknown
    try {
      createYatagarasu(config({ cache: { cacheLayers: ['memory', 'disk', 'redis'] } }))
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    const issues = (error as ConfigError).issues
    expect(issues.map((issue) => issue.path)).toEqual(['cache.cacheLayers', 'cache.cacheLayers'])
    expect(issues[0]!.message).toMatch(/^disk is not available to a handler by itself \(never in the edge bundle\).*yatagarasu\/disk/)
    expect(issues[1]!.message).toMatch(/^redis .*yatagarasu\/redis/)
    // With a cache made in code, the block is the caller's business.
    expect(typeof createYatagarasu(config({ cache: { cacheLayers: ['disk'] } }), { cache: createCache() })).toBe('function')
  })

  it('refuses rate_limiting.store: redis without a rateLimitStore', () => {
    expect(() => createYatagarasu(config({ rateLimiting: { store: 'redis' } }))).toThrow(/rateLimitStore: redisRateLimitStore/)
    const store = { consume: () => ({ allowed: true, retryAfterMs: 0 }) }
    expect(typeof createYatagarasu(config({ rateLimiting: { store: 'redis' } }), { rateLimitStore: store })).toBe('function')
  })
})
