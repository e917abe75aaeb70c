/** The per-bucket `cache` block: defaults, sizes, validation messages. */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig, resolveConfig, type YatagarasuConfig } from '../../src/index.js'
import { cachedConfig } from '../support/cache-origin.js'

const OFF = { staleWhileRevalidate: 0, staleIfError: 0 }

function cacheOf(block: unknown) {
  return resolveConfig(cachedConfig(block as never)).buckets[0]!.cache
}

function issues(block: unknown) {
  try {
    resolveConfig(cachedConfig(block as never))
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).issues
  }
  throw new Error('expected a ConfigError')
}

describe('cache config', () => {
  it('has documented defaults: ttl 3600 s, maxSize 100MB, maxItemSize 10MB; enabled when the block is present', () => {
    expect(cacheOf({})).toEqual({ ttl: 3600, maxSize: 100 * 1024 ** 2, maxItemSize: 10 * 1024 ** 2, ...OFF })
    expect(cacheOf({ enabled: true })).toEqual({ ttl: 3600, maxSize: 100 * 1024 ** 2, maxItemSize: 10 * 1024 ** 2, ...OFF })
  })

  it('is off when absent or enabled: false', () => {
    expect(cacheOf(null)).toBeUndefined()
    expect(cacheOf({ enabled: false, ttl: 10 })).toBeUndefined()
  })

  it('takes sizes as bytes or strings in powers of 1024', () => {
    expect(cacheOf({ ttl: 86400, maxSize: '10GB', maxItemSize: '10MB' })).toEqual({
      ttl: 86400,
      maxSize: 10 * 1024 ** 3,
      maxItemSize: 10 * 1024 ** 2,
      ...OFF,
    })
    expect(cacheOf({ maxSize: 1_000_000, maxItemSize: '512KiB', ttl: 0.5 })).toEqual({ ttl: 0.5, maxSize: 1_000_000, maxItemSize: 512 * 1024, ...OFF })
  })

  it('never lets an item be larger than the whole cache', () => {
    expect(cacheOf({ maxSize: '5MB' })?.maxItemSize).toBe(5 * 1024 ** 2)
  })

  it('names each bad field', () => {
    expect(issues({ enabled: 'yes', ttl: -1, maxSize: '10 parsecs', maxItemSize: 0 }).map((i) => i.path).sort()).toEqual([
      'buckets[0].cache.enabled',
      'buckets[0].cache.maxItemSize',
      'buckets[0].cache.maxSize',
      'buckets[0].cache.ttl',
    ])
    expect(issues({ maxSize: '10 parsecs' })[0]?.message).toMatch(/size/)
  })

  it("accepts the seed's YAML examples (snake_case) as written", () => {
    const config = parseConfig(`
buckets:
  - name: "cdn"
    path_prefix: "/cdn"
    s3: { bucket: assets, region: us-east-1, access_key: a, secret_key: s }
    cache:
      enabled: true
      ttl: 86400          # 24 hours
      max_size: "10GB"    # Large cache
      max_item_size: "10MB"
  - name: "videos"
    path_prefix: "/media"
    s3: { bucket: media, region: us-east-1, access_key: a, secret_key: s }
    cache:
      enabled: false      # Pure streaming
`) as YatagarasuConfig
    const [cdn, videos] = resolveConfig(config).buckets
    expect(cdn?.cache).toEqual({ ttl: 86400, maxSize: 10 * 1024 ** 3, maxItemSize: 10 * 1024 ** 2, ...OFF })
    expect(videos?.cache).toBeUndefined()
  })

  it('takes stale_while_revalidate and stale_if_error in seconds (YAML snake_case), off by default', () => {
    const config = parseConfig(`
buckets:
  - name: "cdn"
    path_prefix: "/cdn"
    s3: { bucket: assets, region: us-east-1, access_key: a, secret_key: s }
    cache: { ttl: 60, stale_while_revalidate: 60, stale_if_error: 300 }
`) as YatagarasuConfig
    expect(resolveConfig(config).buckets[0]?.cache).toMatchObject({ ttl: 60, staleWhileRevalidate: 60, staleIfError: 300 })
    expect(issues({ staleWhileRevalidate: -1, staleIfError: 'long' }).map((i) => i.path).sort()).toEqual([
      'buckets[0].cache.staleIfError',
      'buckets[0].cache.staleWhileRevalidate',
    ])
  })
})
