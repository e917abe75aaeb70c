/**
 * The reliability and abuse controls written as YAML (snake_case), as in
 * docs/reliability.md and docs/security.md: parseConfig converts them, validation
 * accepts them, and secrets stay masked.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig, resolveConfig } from '../../src/index.js'

const YAML = `
rate_limiting:
  enabled: true
  requests_per_second: 100
  burst_size: 200
  key: ip
limits:
  max_url_length: 8KB
  max_header_size: 16KB
buckets:
  - name: media
    path_prefix: /media
    s3:
      bucket: legacy-bucket
      region: us-east-1
      access_key: \${LEGACY_KEY}
      secret_key: \${LEGACY_SECRET}
      timeout: 5
      idle_timeout: 30
      retries: 2
      circuit_breaker:
        failure_threshold: 5
        success_threshold: 2
        timeout_seconds: 30
      replicas:
        - name: backup
          bucket: media-us
          region: us-east-1
          endpoint: https://s3.us-east-1.amazonaws.com
          access_key: \${US_KEY}
          secret_key: \${US_SECRET}
          priority: 2
          timeout: 8
        - name: primary
          bucket: media-eu
          region: eu-west-1
          access_key: \${EU_KEY}
          secret_key: \${EU_SECRET}
          priority: 1
    cors:
      allowed_origins: ['https://app.example.com', 'https://*.example.com']
      allowed_headers: [Authorization, Range]
      exposed_headers: [Content-Range, ETag, Content-Length, Accept-Ranges]
      max_age: 600
    ip_filter:
      allow: ['10.0.0.0/8', '2001:db8::/32']
      deny: ['10.6.6.0/24']
    rate_limiting:
      requests_per_second: 50
      burst_size: 100
      key: user
  - name: open
    path_prefix: /open
    s3: { bucket: open, region: us-east-1, access_key: AK, secret_key: SK }
    rate_limiting: { enabled: false }
`
const env = {
  LEGACY_KEY: 'AKIDLEGACY',
  LEGACY_SECRET: 'LEGACY-SECRET-VALUE',
  US_KEY: 'AKIDUS',
  US_SECRET: 'US-SECRET-VALUE',
  EU_KEY: 'AKIDEU',
  EU_SECRET: 'EU-SECRET-VALUE',
}

describe('reliability and abuse controls in YAML', () => {
  it('are converted from snake_case and resolved with every field', () => {
    const warnings: unknown[] = []
    const resolved = resolveConfig(parseConfig(YAML, env, { onWarning: (w) => warnings.push(w) }))
    expect(warnings).toEqual([])
    expect(resolved.rateLimiting).toEqual({ requestsPerSecond: 100, burstSize: 200, key: 'ip' })
    expect(resolved.limits).toEqual({ maxUrlLength: 8192, maxHeaderSize: 16384 })
    const [media, open] = resolved.buckets
    expect(media!.s3.targets.map((t) => [t.name, t.bucket, t.timeoutMs])).toEqual([
      ['primary', 'media-eu', 5000],
      ['backup', 'media-us', 8000],
    ])
    expect(media!.s3).toMatchObject({ idleTimeoutMs: 30_000, retries: 2, circuitBreaker: { failureThreshold: 5, successThreshold: 2, timeoutMs: 30_000 } })
    expect(media!.cors).toMatchObject({ allowedOrigins: ['https://app.example.com', 'https://*.example.com'], maxAge: 600 })
    expect(media!.ipFilter).toEqual({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.0/24'] })
    expect(media!.rateLimiting).toEqual({ requestsPerSecond: 50, burstSize: 100, key: 'user' })
    expect(open!.rateLimiting).toBe(false)
    const json = JSON.stringify(resolved)
    for (const secret of Object.values(env)) expect(json).not.toContain(secret)
  })

  it('report a bad CIDR with its path and line, not its value', () => {
    try {
      parseConfig(YAML.replace("'10.6.6.0/24'", "'10.6.6.0/99'"), env)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      const issue = (error as ConfigError).issues[0]!
      expect(issue.path).toMatch(/^buckets\[0\]\.ip_?[fF]ilter\.deny\[0\]$/)
      expect(issue.line).toBe(YAML.split('\n').findIndex((line) => line.includes("'10.6.6.0/24'")) + 1)
      expect((error as Error).message).not.toContain('10.6.6.0/99')
    }
  })
})
