/**
 * The `website`, `redirect` and `compression` blocks of a bucket: the YAML names of
 * CONTRACT.md "Beyond", defaults, off unless given, problems named by path. And the
 * `Accept-Encoding` negotiation and type matching that compression relies on.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig, type ConfigIssue } from '../../src/index.js'
import { resolveConfig } from '../../src/config/resolve.js'
import { matchesType, negotiate } from '../../src/middleware/compression.js'

function bucket(blocks: string) {
  const warnings: ConfigIssue[] = []
  const text = `
buckets:
  - name: site
    path_prefix: /site
    s3: { bucket: assets, region: us-east-1, access_key: AKIAEXAMPLE, secret_key: example-secret-value }
${blocks}`
  const config = parseConfig(text, {}, { onWarning: (w) => warnings.push(w) })
  expect(warnings).toEqual([])
  return resolveConfig(config).buckets[0]!
}

function issues(blocks: string): readonly ConfigIssue[] {
  try {
    bucket(blocks)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).issues
  }
  throw new Error('expected a ConfigError')
}

describe('website, redirect and compression config', () => {
  it('reads the YAML of the contract, snake_case to camelCase, sizes in bytes', () => {
    const resolved = bucket(`    website: { index_document: "index.html", fallback_document: "app/index.html" }
    redirect: { enabled: true, min_size: "100MB", expires_seconds: 300 }
    compression: { enabled: true, min_size: "1KB", types: ["text/*", "application/json", "application/javascript", "image/svg+xml"] }`)
    expect(resolved.website).toEqual({ indexDocument: 'index.html', fallbackDocument: 'app/index.html' })
    expect(resolved.redirect).toEqual({ minSize: 100 * 1024 * 1024, expiresSeconds: 300 })
    expect(resolved.compression).toEqual({ minSize: 1024, types: ['text/*', 'application/json', 'application/javascript', 'image/svg+xml'] })
  })

  it('is off by default and with enabled: false; defaults fill the rest', () => {
    const none = bucket('')
    expect([none.website, none.redirect, none.compression]).toEqual([undefined, undefined, undefined])
    const off = bucket(`    redirect: { enabled: false }
    compression: { enabled: false }
    website: {}`)
    expect([off.website, off.redirect, off.compression]).toEqual([undefined, undefined, undefined])
    const defaults = bucket(`    redirect: {}
    compression: {}`)
    expect(defaults.redirect).toEqual({ minSize: 0, expiresSeconds: 300 })
    expect(defaults.compression?.minSize).toBe(1024)
    expect(defaults.compression?.types).toContain('text/*')
  })

  it('names each bad field, in snake_case, and refuses documents outside the bucket', () => {
    const found = issues(`    website: { index_document: "../other/index.html", fallback_document: "/abs.html" }
    redirect: { min_size: "lots", expires_seconds: 604801 }
    compression: { types: ["text"], min_size: -1 }`)
    expect(found.map((issue) => issue.path).sort()).toEqual([
      'buckets[0].compression.min_size',
      'buckets[0].compression.types[0]',
      'buckets[0].redirect.expires_seconds',
      'buckets[0].redirect.min_size',
      'buckets[0].website.fallback_document',
      'buckets[0].website.index_document',
    ])
    expect(issues(`    website: { index_document: "a//b.html" }`).map((issue) => issue.path)).toEqual(['buckets[0].website.index_document'])
  })
})

describe('Accept-Encoding negotiation', () => {
  it('picks the best accepted coding the runtime offers, br first on a tie', () => {
    expect(negotiate('gzip, deflate, br', ['br', 'gzip'])).toBe('br')
    expect(negotiate('gzip, deflate, br', ['gzip'])).toBe('gzip')
    expect(negotiate('br;q=0.5, gzip;q=0.8', ['br', 'gzip'])).toBe('gzip')
    expect(negotiate('*', ['gzip'])).toBe('gzip')
    expect(negotiate('*;q=0, gzip;q=0.1', ['gzip'])).toBe('gzip')
  })

  it('gives none when nothing offered is acceptable', () => {
    expect(negotiate(null, ['gzip'])).toBeUndefined()
    expect(negotiate('', ['gzip'])).toBeUndefined()
    expect(negotiate('identity', ['gzip'])).toBeUndefined()
    expect(negotiate('gzip;q=0', ['gzip'])).toBeUndefined()
    expect(negotiate('br', ['gzip'])).toBeUndefined()
    expect(negotiate('*;q=0', ['gzip'])).toBeUndefined()
  })
})

describe('compressible types', () => {
  const types = ['text/*', 'application/json']
  it('matches exact types and whole top-level types, ignoring parameters and case', () => {
    expect(matchesType('text/html; charset=utf-8', types)).toBe(true)
    expect(matchesType('TEXT/CSS', types)).toBe(true)
    expect(matchesType('application/json', types)).toBe(true)
    expect(matchesType('application/jsonx', types)).toBe(false)
    expect(matchesType('image/png', types)).toBe(false)
    expect(matchesType(null, types)).toBe(false)
    expect(matchesType('garbage', types)).toBe(false)
  })
})
