/**
 * The `images` block of a bucket: YAML snake_case names, defaults, `${VAR:-}` for an
 * optional signing key, problems named by path, the key never printed.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig, type ConfigIssue } from '../../src/index.js'
import { resolveConfig } from '../../src/config/resolve.js'

const S3 = `
    s3:
      bucket: assets
      region: us-east-1
      access_key: AKIAEXAMPLE
      secret_key: example-secret-value`

function yaml(images: string): string {
  return `
buckets:
  - name: img
    path_prefix: /img${S3}
    images:
${images}`
}

function resolved(text: string, env: Record<string, string> = {}) {
  const warnings: ConfigIssue[] = []
  const config = parseConfig(text, env, { onWarning: (w) => warnings.push(w) })
  expect(warnings).toEqual([])
  return resolveConfig(config).buckets[0]!.images
}

function issuesOf(text: string): readonly ConfigIssue[] {
  try {
    resolveConfig(parseConfig(text, {}, { onWarning: () => {} }))
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).issues
  }
  throw new Error('expected a ConfigError')
}

describe('images config', () => {
  it('reads the contract example in snake_case, with the key from the environment', () => {
    const images = resolved(
      yaml(`      enabled: true
      max_source_size: "25MB"
      max_pixels: 50000000
      max_width: 4096
      max_height: 2048
      max_concurrent: 4
      signing_key: "\${IMAGE_SIGNING_KEY:-}"`),
      { IMAGE_SIGNING_KEY: 'a-long-random-signing-key-value' },
    )
    expect({ ...images }).toEqual({
      maxSourceSize: 25 * 1024 * 1024,
      maxPixels: 50_000_000,
      maxWidth: 4096,
      maxHeight: 2048,
      maxConcurrent: 4,
      signingKey: 'a-long-random-signing-key-value',
    })
  })

  it('turns signing off when the variable is unset (empty key)', () => {
    const images = resolved(yaml(`      signing_key: "\${IMAGE_SIGNING_KEY:-}"`))
    expect(images).toBeDefined()
    expect(images!.signingKey).toBeUndefined()
  })

  it('applies defaults when the block is present, and is off when absent or disabled', () => {
    expect({ ...resolved(yaml('      enabled: true')) }).toEqual({
      maxSourceSize: 25 * 1024 * 1024,
      maxPixels: 50_000_000,
      maxWidth: 4096,
      maxHeight: 4096,
      maxConcurrent: 4,
    })
    expect(resolved(yaml('      enabled: false'))).toBeUndefined()
    expect(resolveConfig({ buckets: [{ name: 'a', pathPrefix: '/a', s3: { bucket: 'b', region: 'r', accessKey: 'k', secretKey: 's' } }] }).buckets[0]!.images).toBeUndefined()
  })

  it('names each bad field by its path', () => {
    const issues = issuesOf(
      yaml(`      max_source_size: "lots"
      max_pixels: 0
      max_width: 1.5
      max_concurrent: -1`),
    )
    expect(issues.map((issue) => issue.path)).toEqual([
      'buckets[0].images.max_source_size',
      'buckets[0].images.max_pixels',
      'buckets[0].images.max_width',
      'buckets[0].images.max_concurrent',
    ])
  })

  it('never prints the signing key', () => {
    const text = yaml(`      signing_key: "\${IMAGE_SIGNING_KEY}"`)
    const parsed = parseConfig(text, { IMAGE_SIGNING_KEY: 'do-not-print-this-key' }, { onWarning: () => {} })
    expect(JSON.stringify(parsed)).not.toContain('do-not-print-this-key')
    const config = resolveConfig(parsed)
    expect(JSON.stringify(config)).not.toContain('do-not-print-this-key')
    expect(config.buckets[0]!.images!.signingKey).toBe('do-not-print-this-key')
  })
})
