/**
 * `yatagarasu check`'s summary never prints what a URL carries besides its location:
 * user info and query strings (API keys, passwords, presigned signatures) are cut from
 * every URL, whatever its scheme and wherever it appears in the text.
 */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/parse.js'
import { redactUrls } from '../../src/logging/redact.js'
import type { LoadedConfig } from '../../src/server/config-file.js'
import { checkServerBlocks, resolveServerSettings, serverBlocks } from '../../src/server/settings.js'
import { summarize } from '../../src/server/summary.js'

describe('redactUrls', () => {
  it('cuts user info and query from URLs of any scheme, keeping where they point', () => {
    expect(redactUrls('https://idp.example/.well-known/jwks.json?api_key=K1')).toBe('https://idp.example/.well-known/jwks.json')
    expect(redactUrls('redis://default:p4ss@cache.internal:6379/0')).toBe('redis://cache.internal:6379/0')
    expect(redactUrls('rediss://:p@ss@word@[::1]:6380?tls=1')).toBe('rediss://[::1]:6380')
    expect(redactUrls('http://user@10.0.0.1:9000/bucket#frag')).toBe('http://10.0.0.1:9000/bucket#frag')
    expect(redactUrls('HTTPS://u:p@Example.COM?x=1 and http://b.example/?y=2;z')).toBe('HTTPS://Example.COM and http://b.example/')
  })

  it('leaves text without URLs, and an @ in a path, alone', () => {
    expect(redactUrls('token from ?token= and Authorization: Bearer')).toBe('token from ?token= and Authorization: Bearer')
    expect(redactUrls('https://cdn.example/users/@alice/avatar.png')).toBe('https://cdn.example/users/@alice/avatar.png')
  })

  it('marks a removed query when asked to (the log form)', () => {
    expect(redactUrls('see https://a.example/p?sig=abc now', '?[REDACTED]')).toBe('see https://a.example/p?[REDACTED] now')
    expect(redactUrls('https://a.example/p', '?[REDACTED]')).toBe('https://a.example/p')
  })
})

describe('summarize (yatagarasu check)', () => {
  const yaml = `
buckets:
  - name: private
    path_prefix: /private
    s3:
      bucket: secret-bucket
      region: us-east-1
      endpoint: http://minio.internal:9000
      access_key: AKIAEXAMPLE
      secret_key: s3-secret-value
    auth:
      jwt:
        jwks_url: https://idp.example/.well-known/jwks.json?api_key=JWKS-API-KEY&tenant=t1
        algorithms: [RS256]
        token_sources:
          - type: query
            name: token
`

  function loaded(text: string): LoadedConfig {
    const config = parseConfig(text, {}, { blocks: serverBlocks, check: checkServerBlocks })
    return { path: '/etc/yatagarasu/config.yaml', config, settings: resolveServerSettings(config), warnings: [] }
  }

  it('prints the Redis URLs of the cache layers and the rate-limit store without user info or query', () => {
    const withRedis = `${yaml}
cache:
  cache_layers: [memory, redis]
  redis:
    redis_url: redis://default:redis-p@ss@cache.internal:6379/0?tls=off&token=REDIS-TOKEN
    redis_password: other-redis-pass
rate_limiting:
  requests_per_second: 10
  store: redis
  redis_url: rediss://limiter:LIMITER-PASS@limits.internal:6380
`
    const text = summarize(loaded(withRedis))
    expect(text).toMatch(/cache\s+layers memory 256MB, items up to 10MB -> redis redis:\/\/cache\.internal:6379\/0 db 0, prefix yatagarasu:, password \*\*\*/)
    expect(text).toMatch(/rate store\s+redis rediss:\/\/limits\.internal:6380 db 0/)
    for (const secret of ['redis-p@ss', 'p@ss', 'ss@cache', 'REDIS-TOKEN', 'tls=off', 'other-redis-pass', 'LIMITER-PASS', 'limiter:']) expect(text).not.toContain(secret)
  })

  it('prints the JWKS URL without its query, the endpoint, and no secret', () => {
    const text = summarize(loaded(yaml))
    expect(text).toMatch(/auth\s+JWT RS256 \(JWKS https:\/\/idp\.example\/\.well-known\/jwks\.json\); token from \?token=/)
    expect(text).toContain('http://minio.internal:9000')
    for (const secret of ['JWKS-API-KEY', 'api_key', 'tenant=t1', 'AKIAEXAMPLE', 's3-secret-value']) expect(text).not.toContain(secret)
  })
})
