import { describe, expect, it } from 'vitest'
import { ConfigError, createYatagarasu, resolveConfig } from '../../src/index.js'
import { parseSize } from '../../src/config/size.js'

const SECRET = 'wJalrXUtnFEMI/K7MDENG/SUPERSECRET'
const s3 = { bucket: 'assets', region: 'us-east-1', accessKey: 'AKIDEXAMPLE', secretKey: SECRET }

function configError(config: unknown): ConfigError {
  try {
    resolveConfig(config as never)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('config validation', () => {
  it('names the offending field path', () => {
    const error = configError({
      buckets: [
        { name: 'a', pathPrefix: '/a', s3 },
        { name: 'b', pathPrefix: '/b', s3: { ...s3, region: undefined } },
      ],
    })
    expect(error.message).toContain('buckets[1].s3.region: required')
    expect(error.issues).toEqual([{ path: 'buckets[1].s3.region', message: 'required' }])
  })

  it('lists every problem at once', () => {
    const error = configError({
      basePath: 'api',
      buckets: [{ name: '', pathPrefix: 'cdn', s3: { ...s3, endpoint: 'ftp://x', timeout: -1 } }],
    })
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(
      ['basePath', 'buckets[0].name', 'buckets[0].pathPrefix', 'buckets[0].s3.endpoint', 'buckets[0].s3.timeout'].sort(),
    )
  })

  it('refuses duplicate names and prefixes', () => {
    const error = configError({
      buckets: [
        { name: 'a', pathPrefix: '/a', s3 },
        { name: 'a', pathPrefix: '/a/', s3 },
      ],
    })
    expect(error.issues).toEqual([
      { path: 'buckets[1].name', message: 'duplicates buckets[0].name' },
      { path: 'buckets[1].pathPrefix', message: 'duplicates buckets[0].pathPrefix' },
    ])
  })

  it('requires at least one bucket', () => {
    expect(configError({ buckets: [] }).issues).toEqual([{ path: 'buckets', message: 'at least one bucket is required' }])
    expect(configError(undefined).issues[0]?.path).toBe('')
  })

  it('never echoes a secret, even a wrongly typed one', () => {
    const error = configError({ buckets: [{ name: 'a', pathPrefix: '/a', s3: { ...s3, secretKey: 123456789, region: 42 } }] })
    expect(error.message).not.toContain('123456789')
    expect(error.message).toContain('buckets[0].s3.secretKey: expected string')
    const stringSecret = configError({ buckets: [{ name: 'a', pathPrefix: 'no-slash', s3 }] })
    expect(stringSecret.message).not.toContain(SECRET)
  })

  it('is thrown by createYatagarasu', () => {
    expect(() => createYatagarasu({ buckets: [{ name: 'a', pathPrefix: '/a', s3: { ...s3, bucket: '' } }] })).toThrow(
      /buckets\[0\]\.s3\.bucket: must not be empty/,
    )
  })

  it('masks credentials in JSON.stringify of a resolved config, while code still reads them', () => {
    const resolved = resolveConfig({
      buckets: [{ name: 'a', pathPrefix: '/a', s3: { ...s3, sessionToken: 'SESSION-TOKEN' } }],
    })
    const json = JSON.stringify(resolved)
    expect(json).not.toContain(SECRET)
    expect(json).not.toContain('SESSION-TOKEN')
    expect(json).not.toContain('AKIDEXAMPLE')
    expect(json).toContain('"secretKey":"***"')
    expect(resolved.buckets[0]?.s3.secretKey).toBe(SECRET)
    expect({ ...resolved.buckets[0]?.s3 }.secretKey).toBe(SECRET)
  })

  it('applies defaults and normalises prefixes', () => {
    const resolved = resolveConfig({
      basePath: '/api/s3/',
      buckets: [{ name: 'a', pathPrefix: '/a/', s3: { ...s3, endpoint: 'http://127.0.0.1:9000/' } }],
    })
    expect(resolved.basePath).toBe('/api/s3')
    expect(resolved.buckets[0]?.pathPrefix).toBe('/a')
    expect(resolved.buckets[0]?.s3.endpoint).toBe('http://127.0.0.1:9000')
    expect(resolved.buckets[0]?.s3.timeoutMs).toBe(30_000)
  })
})

describe('sizes', () => {
  it.each([
    [1024, 1024],
    ['10MB', 10 * 1024 * 1024],
    ['10 mb', 10 * 1024 * 1024],
    ['1GB', 1024 ** 3],
    ['1.5KB', 1536],
    ['2TB', 2 * 1024 ** 4],
    ['5MiB', 5 * 1024 ** 2],
    ['512B', 512],
    ['512', 512],
  ])('%s → %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes)
  })

  it.each([[-1], [1.5], ['10XB'], ['MB'], ['ten'], ['']])('%s is refused', (input) => {
    expect(parseSize(input)).toBeUndefined()
  })
})
