/**
 * parseConfig: YAML/JSON text to the camelCase config — the seed's and the original
 * Yatagarasu's layouts accepted, `${VAR}` substitution, every problem listed with its
 * path and line, unknown keys as warnings, secrets never echoed.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, createYatagarasu, parseConfig, type ConfigIssue } from '../../src/index.js'
import { serverBlocks, checkServerBlocks, resolveServerSettings } from '../../src/server/settings.js'

const S3 = `
    s3:
      bucket: assets
      region: us-east-1
      endpoint: http://127.0.0.1:9000
      access_key: AKIAEXAMPLE
      secret_key: example-secret-value`

function parse(text: string, env: Record<string, string> = {}) {
  const warnings: ConfigIssue[] = []
  const config = parseConfig(text, env, { onWarning: (w) => warnings.push(w) })
  return { config, warnings }
}

function issuesOf(text: string, env: Record<string, string> = {}): readonly ConfigIssue[] {
  try {
    parseConfig(text, env, { onWarning: () => {} })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).issues
  }
  throw new Error('expected a ConfigError')
}

describe('the seed examples (data-flow.md), with an s3 block added', () => {
  const examples = {
    'aggressive caching': `
buckets:
  - name: "cdn"
    path_prefix: "/cdn"${S3}
    cache:
      enabled: true
      ttl: 86400          # 24 hours
      max_size: "10GB"    # Large cache
      max_item_size: "10MB"
`,
    'no caching': `
buckets:
  - name: "videos"
    path_prefix: "/media"${S3}
    cache:
      enabled: false      # Pure streaming
`,
    'smart caching': `
buckets:
  - name: "content"
    path_prefix: "/content"${S3}
    cache:
      enabled: true
      ttl: 3600           # 1 hour
      max_size: "1GB"     # Moderate cache
      max_item_size: "5MB" # Only cache small files
`,
  }

  for (const [name, text] of Object.entries(examples)) {
    it(`accepts "${name}" as written, without warnings, and createYatagarasu takes the result`, () => {
      const { config, warnings } = parse(text)
      expect(warnings).toEqual([])
      expect(config.buckets[0]!.pathPrefix).toMatch(/^\//)
      expect(() => createYatagarasu(config)).not.toThrow()
    })
  }

  it('converts snake_case keys to camelCase', () => {
    const { config } = parse(examples['aggressive caching'])
    expect(config.buckets[0]).toMatchObject({
      name: 'cdn',
      pathPrefix: '/cdn',
      s3: { bucket: 'assets', region: 'us-east-1', accessKey: 'AKIAEXAMPLE', secretKey: 'example-secret-value' },
      cache: { enabled: true, ttl: 86400, maxSize: '10GB', maxItemSize: '10MB' },
    })
  })
})

describe("the original Yatagarasu's config.example.yaml layout", () => {
  const original = `
server:
  address: "0.0.0.0:8080"
buckets:
  - name: "public-assets"
    path_prefix: "/assets"
    s3:
      bucket: "my-public-assets-bucket"
      region: "us-east-1"
      access_key: "\${AWS_ACCESS_KEY_PUBLIC}"
      secret_key: "\${AWS_SECRET_KEY_PUBLIC}"
    auth:
      enabled: false
  - name: "user-data"
    path_prefix: "/users"
    s3:
      bucket: "private-user-data-bucket"
      region: "us-east-1"
      access_key: "\${AWS_ACCESS_KEY_PRIVATE}"
      secret_key: "\${AWS_SECRET_KEY_PRIVATE}"
    auth:
      enabled: true
      jwt:
        token_sources:
          - type: "header"
            name: "Authorization"
            prefix: "Bearer "
          - type: "query"
            name: "token"
        secret: "\${JWT_SECRET}"
        algorithm: "HS256"
        claims_verification:
          - claim: "role"
            operator: "equals"
            value: "user"
  - name: "products-ha"
    path_prefix: "/products"
    s3:
      bucket: "products-primary"
      region: "us-west-2"
      access_key: "\${AWS_ACCESS_KEY_PRIMARY}"
      secret_key: "\${AWS_SECRET_KEY_PRIMARY}"
      replicas:
        - name: "primary-us-west"
          bucket: "products-primary"
          region: "us-west-2"
          access_key: "\${AWS_ACCESS_KEY_PRIMARY}"
          secret_key: "\${AWS_SECRET_KEY_PRIMARY}"
          priority: 1
          timeout: 5
        - name: "backup-minio"
          bucket: "products"
          region: "us-east-1"
          access_key: "\${MINIO_ACCESS_KEY}"
          secret_key: "\${MINIO_SECRET_KEY}"
          endpoint: "https://minio.example.com:9000"
          priority: 3
          timeout: 10
      circuit_breaker:
        failure_threshold: 5
        success_threshold: 2
        timeout_seconds: 30
    auth:
      enabled: false
logging:
  level: "info"
  format: "json"
metrics:
  enabled: true
  port: 9090
`
  const env = {
    AWS_ACCESS_KEY_PUBLIC: 'AKIAPUBLIC',
    AWS_SECRET_KEY_PUBLIC: 'public-secret',
    AWS_ACCESS_KEY_PRIVATE: 'AKIAPRIVATE',
    AWS_SECRET_KEY_PRIVATE: 'private-secret',
    AWS_ACCESS_KEY_PRIMARY: 'AKIAPRIMARY',
    AWS_SECRET_KEY_PRIMARY: 'primary-secret',
    MINIO_ACCESS_KEY: 'minio',
    MINIO_SECRET_KEY: 'minio-secret',
    JWT_SECRET: 'a-jwt-secret-that-is-at-least-32-bytes-long!',
  }

  it('is accepted with its server, logging and metrics blocks, without warnings', () => {
    const warnings: ConfigIssue[] = []
    const config = parseConfig(original, env, { blocks: serverBlocks, check: checkServerBlocks, onWarning: (w) => warnings.push(w) })
    expect(warnings).toEqual([])
    expect(config.buckets[1]!.auth).toMatchObject({
      enabled: true,
      jwt: {
        tokenSources: [{ type: 'header', name: 'Authorization', prefix: 'Bearer ' }, { type: 'query', name: 'token' }],
        claimsVerification: [{ claim: 'role', operator: 'equals', value: 'user' }],
      },
    })
    expect(config.buckets[2]!.s3).toMatchObject({ circuitBreaker: { failureThreshold: 5, successThreshold: 2, timeoutSeconds: 30 } })
    const settings = resolveServerSettings(config)
    expect(settings).toMatchObject({ host: '0.0.0.0', port: 8080, logging: { level: 'info', format: 'json' }, metrics: { enabled: true, port: 9090 } })
    expect(() => createYatagarasu(config)).not.toThrow()
  })

  it('without the server schemas, parseConfig still accepts the server blocks (keys converted, no warnings)', () => {
    const { config, warnings } = parse(original, env)
    expect(warnings).toEqual([])
    expect(config.server).toEqual({ address: '0.0.0.0:8080' })
  })
})

describe('YAML and JSON', () => {
  it('takes JSON text, and camelCase keys as well as snake_case', () => {
    const json = JSON.stringify({
      buckets: [{ name: 'a', pathPrefix: '/a', s3: { bucket: 'b', region: 'r', access_key: 'k', secretKey: 's' } }],
    })
    const { config, warnings } = parse(json)
    expect(warnings).toEqual([])
    expect(config.buckets[0]!.s3).toMatchObject({ accessKey: 'k', secretKey: 's' })
  })

  it('refuses the same field written both ways', () => {
    const issues = issuesOf(`buckets:\n  - name: a\n    path_prefix: /a\n    pathPrefix: /b${S3}\n`)
    expect(issues).toContainEqual({ path: 'buckets[0].pathPrefix', line: 4, message: 'given twice (also as path_prefix)' })
  })

  it('supports anchors, merge keys, and x- top-level keys for them', () => {
    const { config, warnings } = parse(`
x-s3: &s3
  region: us-east-1
  access_key: k
  secret_key: s
buckets:
  - name: a
    path_prefix: /a
    s3: { <<: *s3, bucket: one }
  - name: b
    path_prefix: /b
    s3:
      <<: *s3
      bucket: two
      region: eu-west-1
`)
    expect(warnings).toEqual([])
    expect(config.buckets.map((b) => [b.s3.bucket, b.s3.region])).toEqual([
      ['one', 'us-east-1'],
      ['two', 'eu-west-1'],
    ])
  })

  it('keeps text where text is expected: an unquoted number as a bucket name or secret stays as written', () => {
    const { config } = parse(`buckets:\n  - name: 2024\n    path_prefix: /a\n    s3: { bucket: 007, region: r, access_key: 1e3, secret_key: 0123 }\n`)
    expect(config.buckets[0]!.name).toBe('2024')
    expect(config.buckets[0]!.s3).toMatchObject({ bucket: '007', accessKey: '1e3', secretKey: '0123' })
  })

  it('converts the keys of a block whose variant depends on a ${VAR} (auth.enabled)', () => {
    const text = `
buckets:
  - name: a
    path_prefix: /a${S3}
    auth:
      enabled: \${AUTH_ON:-true}
      jwt:
        secret: a-secret-that-is-long-enough-for-hs256-00
        token_sources: [{ type: query, name: t }]
`
    const { config, warnings } = parse(text)
    expect(warnings).toEqual([])
    expect((config.buckets[0]!.auth as { jwt: Record<string, unknown> }).jwt).toHaveProperty('tokenSources', [{ type: 'query', name: 't' }])
    // No branch matches: still converted, and the one real problem is the only one reported.
    const seen: ConfigIssue[] = []
    expect(() => parseConfig(text, { AUTH_ON: 'nonsense' }, { onWarning: (w) => seen.push(w) })).toThrow(ConfigError)
    expect(seen).toEqual([])
    expect(issuesOf(text, { AUTH_ON: 'nonsense' })).toEqual([{ path: 'buckets[0].auth.enabled', line: 12, message: 'expected a boolean' }])
  })

  it('keeps the keys of free-form values (a JWK) as written', () => {
    const { config } = parse(`
buckets:
  - name: a
    path_prefix: /a${S3}
    auth:
      jwt:
        public_key: { kty: EC, crv: P-256, x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, y: x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0, key_ops: [verify] }
        algorithm: ES256
`)
    expect((config.buckets[0]!.auth!.jwt as { publicKey: Record<string, unknown> }).publicKey).toHaveProperty('key_ops', ['verify'])
  })
})

describe("the file's own spelling", () => {
  it('names fields in messages as the YAML file does (snake_case), duplicates included', () => {
    const text = `buckets:\n  - name: a\n    path_prefix: /a${S3}\n  - name: b\n    path_prefix: /a/${S3}\n    auth:\n      jwt: { public_key: '{"kty":"RSA"}', jwks_url: https://id.example.com/jwks }\n`
    expect(issuesOf(text)).toEqual([
      { path: 'buckets[1].path_prefix', line: 11, message: 'duplicates buckets[0].path_prefix' },
      { path: 'buckets[1].auth.jwt.public_key', line: 19, message: 'an RSA JWK needs n and e' },
    ])
    const both = text.replace(`'{"kty":"RSA"}'`, `'{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}'`)
    expect(issuesOf(both)).toContainEqual({ path: 'buckets[1].auth.jwt.jwks_url', line: 19, message: 'give either public_key or jwks_url, not both' })
  })

  it('keeps camelCase in a camelCase (JSON) file, for missing fields too', () => {
    const s3 = { bucket: 'b', accessKey: 'k', secretKey: 's' }
    const text = JSON.stringify({ buckets: [{ name: 'a', pathPrefix: '/a', s3 }, { name: 'b', pathPrefix: '/a', s3: { ...s3, region: 'r' } }] }, null, 2)
    const lineOf = (needle: string, from = 0) => text.split('\n').findIndex((line, index) => index >= from && line.includes(needle)) + 1
    expect(issuesOf(text)).toEqual([
      { path: 'buckets[0].s3.region', line: lineOf('"s3"'), message: 'required' },
      { path: 'buckets[1].pathPrefix', line: lineOf('"pathPrefix"', lineOf('"b"')), message: 'duplicates buckets[0].pathPrefix' },
    ])
  })
})

describe('YAML as the yaml library reads it', () => {
  it('merge keys: own keys win, then the sources in order; a problem in a merged value is shown where it is written', () => {
    const text = `x-s3: &s3
  region: us-east-1
  access_key: k
  secret_key: s
x-slow: &slow { timeout: 60, region: eu-west-1 }
x-bad: &bad { timeout: -1 }
buckets:
  - name: a
    path_prefix: /a
    s3: { <<: [*s3, *slow], bucket: one }
  - name: b
    path_prefix: /b
    s3: { <<: [*bad, *s3], bucket: two }
`
    expect(issuesOf(text)).toEqual([{ path: 'buckets[1].s3.timeout', line: 6, message: 'must be a positive number of seconds' }])
    const { config } = parse(text.replace('timeout: -1', 'timeout: 1'))
    expect(config.buckets[0]!.s3).toMatchObject({ bucket: 'one', region: 'us-east-1', timeout: 60 })
  })

  it('fills ${VAR} in values only: keys and comments are left alone', () => {
    const { config, warnings } = parse(`# \${NOT_SET} in a comment\nbuckets:\n  - name: a\n    path_prefix: /a${S3}\n    "\${NOT_SET}": 1\n`)
    expect(config.buckets[0]!.name).toBe('a')
    expect(warnings).toEqual([{ path: 'buckets[0].${NOT_SET}', line: 11, message: 'unknown key; ignored' }])
  })

  it('fills an anchor once, where it is used: an unused x- block is not looked at, a used one is reported at its use', () => {
    const text = `x-unused: { access_key: "\${UNSET_A}" }
x-s3: &s3 { region: r, access_key: "\${UNSET_B}", secret_key: s }
buckets:
  - name: a
    path_prefix: /a
    s3: { <<: *s3, bucket: b }
  - name: b
    path_prefix: /b
    s3: { <<: *s3, bucket: c }
`
    expect(issuesOf(text)).toEqual([{ path: 'buckets[0].s3.access_key', line: 2, message: 'environment variable UNSET_B is not set' }])
    expect(parse(text, { UNSET_B: '$${literal}' }).config.buckets.map((b) => b.s3.accessKey)).toEqual(['$${literal}', '$${literal}'])
  })

  it('refuses an alias bomb without expanding it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n')
    expect(issuesOf(`${bomb}\nbuckets: []\n`)[0]!.message).toMatch(/^YAML syntax: .*alias/i)
  })
})

describe('${VAR} substitution', () => {
  const text = (value: string) => `buckets:\n  - name: a\n    path_prefix: /a\n    s3:\n      bucket: b\n      region: r\n      access_key: ${value}\n      secret_key: s\n      timeout: \${TIMEOUT:-30}\n`

  it('fills values from env, with defaults for unset (or empty, with :-) variables', () => {
    expect(parse(text('${KEY}'), { KEY: 'from-env' }).config.buckets[0]!.s3.accessKey).toBe('from-env')
    expect(parse(text('"prefix-${KEY}-suffix"'), { KEY: 'x' }).config.buckets[0]!.s3.accessKey).toBe('prefix-x-suffix')
    expect(parse(text('${KEY:-fallback}')).config.buckets[0]!.s3.accessKey).toBe('fallback')
    expect(parse(text('${KEY:-fallback}'), { KEY: '' }).config.buckets[0]!.s3.accessKey).toBe('fallback')
    expect(parse(text('"${KEY-fallback}x"'), { KEY: '' }).config.buckets[0]!.s3.accessKey).toBe('x')
    expect(parse(text('"$${KEY}"'), { KEY: 'no' }).config.buckets[0]!.s3.accessKey).toBe('${KEY}')
  })

  it('gives the value the type of its field: numbers for numbers, text for text (even all digits)', () => {
    const { config } = parse(text('${KEY}'), { KEY: '12345', TIMEOUT: '2.5' })
    expect(config.buckets[0]!.s3.accessKey).toBe('12345')
    expect(config.buckets[0]!.s3.timeout).toBe(2.5)
    const json = JSON.stringify({ buckets: [{ name: 'a', path_prefix: '/a', s3: { bucket: 'b', region: 'r', access_key: 'k', secret_key: 's', timeout: '${T}' } }] })
    expect(parse(json, { T: '7' }).config.buckets[0]!.s3.timeout).toBe(7)
  })

  it('reports a missing variable by name, with its path and line, and nothing else for that field', () => {
    const issues = issuesOf(text('${AWS_KEY}'))
    expect(issues).toEqual([{ path: 'buckets[0].s3.access_key', line: 7, message: 'environment variable AWS_KEY is not set' }])
  })

  it('reports malformed references', () => {
    expect(issuesOf(text('"${not valid}"'))[0]!.message).toMatch(/invalid variable reference/)
    expect(issuesOf(text('"${UNCLOSED"'))[0]!.message).toMatch(/unterminated/)
  })
})

describe('errors and warnings', () => {
  const bad = `buckets:
  - name: a
    path_prefix: no-slash
    s3:
      bucket: b
      access_key: k
      secret_key: hunter2-super-secret
      timeout: -3
  - name: a
    path_prefix: /b
    s3: { bucket: b, region: r, access_key: k, secret_key: s }
    cache: { enabled: true, max_size: lots }
`

  it('lists every problem at once with its path (as written) and line, duplicates included', () => {
    expect(issuesOf(bad)).toEqual([
      { path: 'buckets[0].path_prefix', line: 3, message: "must start with '/'" },
      { path: 'buckets[0].s3.region', line: 4, message: 'required' },
      { path: 'buckets[0].s3.timeout', line: 8, message: 'must be a positive number of seconds' },
      { path: 'buckets[1].name', line: 9, message: 'duplicates buckets[0].name' },
      { path: 'buckets[1].cache.max_size', line: 12, message: expect.stringMatching(/size/) },
    ])
  })

  it('puts the lines in the error message', () => {
    try {
      parseConfig(bad, {}, { onWarning: () => {} })
      expect.unreachable()
    } catch (error) {
      expect((error as Error).message).toContain("buckets[0].path_prefix (line 3): must start with '/'")
    }
  })

  it('never echoes a value, even a secret in the wrong place or a syntax error next to it', () => {
    const secret = 'hunter2-super-secret'
    const texts = [
      bad,
      `buckets:\n  - name: a\n    path_prefix: /a\n    s3: { bucket: b, region: r, access_key: k, secret_key: [${secret}] }\n`,
      `buckets:\n  - name: a\n    secret: "${secret}" "${secret}"\n`,
      `buckets: [ { name: "${secret}" \n`,
    ]
    for (const text of texts) {
      try {
        parseConfig(text, {}, { onWarning: () => {} })
        expect.unreachable()
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError)
        expect((error as Error).message).not.toContain(secret)
        expect(JSON.stringify((error as ConfigError).issues)).not.toContain(secret)
      }
    }
  })

  it('reports YAML syntax errors with their line', () => {
    const issues = issuesOf('buckets:\n  - name: a\n    path_prefix: /a\n   bad indent: x\n')
    expect(issues[0]).toMatchObject({ path: '', line: expect.any(Number), message: expect.stringMatching(/^YAML syntax/) })
  })

  it('refuses an empty text and a text that is not a mapping', () => {
    expect(issuesOf('')[0]!.message).toMatch(/empty/)
    expect(issuesOf('- a\n- b\n')[0]!.message).toMatch(/mapping/)
  })

  it('warns about unknown keys with path and line, and leaves them out', () => {
    const { config, warnings } = parse(`
buckets:
  - name: a
    path_prefix: /a${S3}
      colour: blue
    cache:
      enabled: true
      max_items: 3
    unknown_block: { a: 1 }
typo_at_top: 1
`)
    expect(warnings).toEqual([
      { path: 'buckets[0].s3.colour', line: 11, message: 'unknown key; ignored' },
      { path: 'buckets[0].cache.max_items', line: 14, message: 'unknown key; ignored' },
      { path: 'buckets[0].unknown_block', line: 15, message: 'unknown key; ignored' },
      { path: 'typo_at_top', line: 16, message: 'unknown key; ignored' },
    ])
    expect(config).not.toHaveProperty('typoAtTop')
    expect(config.buckets[0]!.s3).not.toHaveProperty('colour')
  })

  it('reports warnings to console.warn by default', () => {
    const original = console.warn
    const lines: string[] = []
    console.warn = (line: string) => lines.push(line)
    try {
      parseConfig(`buckets:\n  - name: a\n    path_prefix: /a${S3}\n    oops: 1\n`)
    } finally {
      console.warn = original
    }
    expect(lines).toEqual(['yatagarasu config: buckets[0].oops (line 10): unknown key; ignored'])
  })

  it('validates extra blocks and cross-checks with lines (the server schema)', () => {
    const text = `server:\n  address: "127.0.0.1:8080"\n  port: 9000\nlogging:\n  level: loud\nbuckets:\n  - name: a\n    path_prefix: /a${S3}\n`
    try {
      parseConfig(text, {}, { blocks: serverBlocks, check: checkServerBlocks, onWarning: () => {} })
      expect.unreachable()
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([{ path: 'logging.level', line: 5, message: expect.stringMatching(/one of/) }])
    }
    const onlyCross = text.replace('level: loud', 'level: info')
    try {
      parseConfig(onlyCross, {}, { blocks: serverBlocks, check: checkServerBlocks, onWarning: () => {} })
      expect.unreachable()
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([{ path: 'server.port', line: 3, message: expect.stringMatching(/differs/) }])
    }
  })
})

describe('secrets in the result', () => {
  it('print as *** in JSON.stringify, while code reads them', () => {
    const { config } = parse(`
buckets:
  - name: a
    path_prefix: /a
    s3:
      bucket: b
      region: r
      access_key: AKIAVISIBLEONLYTOCODE
      secret_key: \${SECRET}
      session_token: sess-token-value
    auth:
      jwt:
        secret: jwt-secret-value-which-is-long-enough-ok
`, { SECRET: 'env-secret-value' })
    const json = JSON.stringify(config)
    for (const secret of ['AKIAVISIBLEONLYTOCODE', 'env-secret-value', 'sess-token-value', 'jwt-secret-value-which-is-long-enough-ok']) {
      expect(json).not.toContain(secret)
    }
    expect(json).toContain('"secretKey":"***"')
    expect(config.buckets[0]!.s3.secretKey).toBe('env-secret-value')
  })
})
