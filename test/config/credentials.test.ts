/** `s3.credentials`: a provider function or a built-in provider by name, instead of static keys. */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig, resolveConfig, type YatagarasuConfig } from '../../src/index.js'

function issuesOf(s3: unknown) {
  try {
    resolveConfig({ buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3 }] } as YatagarasuConfig)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`)
  }
  throw new Error('expected a ConfigError')
}

describe('s3.credentials', () => {
  it('takes the built-in providers from YAML (snake_case), without static keys', () => {
    const config = parseConfig(`
buckets:
  - name: cdn
    path_prefix: /cdn
    s3:
      bucket: assets
      region: us-east-1
      credentials: { provider: web_identity, role_arn: "arn:aws:iam::1:role/proxy", session_name: proxy }
`) as YatagarasuConfig
    const s3 = resolveConfig(config).buckets[0]!.s3
    expect(s3.credentials).toEqual({ provider: 'web_identity', roleArn: 'arn:aws:iam::1:role/proxy', sessionName: 'proxy' })
    expect(s3.targets[0]!.credentials).toEqual(s3.credentials)
    for (const provider of ['env', 'container', 'imds']) {
      expect(resolveConfig({ buckets: [{ name: 'c', pathPrefix: '/c', s3: { bucket: 'b', region: 'r', credentials: { provider } } }] } as YatagarasuConfig).buckets[0]!.s3.credentials).toEqual({ provider })
    }
  })

  it('takes a provider function in code', () => {
    const provider = async () => ({ accessKeyId: 'a', secretAccessKey: 's' })
    const s3 = resolveConfig({ buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3: { bucket: 'b', region: 'r', credentials: provider } }] }).buckets[0]!.s3
    expect(s3.credentials).toBe(provider)
  })

  it('with replicas (YAML): a replica without keys signs with the provider, one with keys with its own', () => {
    const config = parseConfig(`
buckets:
  - name: cdn
    path_prefix: /cdn
    s3:
      credentials: { provider: container }
      replicas:
        - { name: east, bucket: a, region: us-east-1 }
        - { name: west, bucket: b, region: us-west-2, access_key: AKIDWEST, secret_key: WEST-SECRET }
`) as YatagarasuConfig
    const [east, west] = resolveConfig(config).buckets[0]!.s3.targets
    expect(east).toMatchObject({ name: 'east', accessKey: '', credentials: { provider: 'container' } })
    expect(west).toMatchObject({ name: 'west', accessKey: 'AKIDWEST', secretKey: 'WEST-SECRET' })
    expect(west!.credentials).toBeUndefined()
  })

  it('a replica needs both keys of its own, or the bucket\'s credentials', () => {
    const replica = { name: 'east', bucket: 'a', region: 'us-east-1' }
    expect(issuesOf({ replicas: [replica] }).sort()).toEqual([
      'buckets[0].s3.replicas[0].accessKey: required (or s3.credentials)',
      'buckets[0].s3.replicas[0].secretKey: required (or s3.credentials)',
    ])
    expect(issuesOf({ credentials: { provider: 'env' }, replicas: [replica, { ...replica, name: 'west', accessKey: 'AKID' }] })).toEqual([
      "buckets[0].s3.replicas[1].secretKey: required with the replica's own keys",
    ])
    expect(issuesOf({ credentials: { provider: 'env' }, replicas: [{ ...replica, sessionToken: 'TOKEN' }] }).sort()).toEqual([
      "buckets[0].s3.replicas[0].accessKey: required with the replica's own keys",
      "buckets[0].s3.replicas[0].secretKey: required with the replica's own keys",
    ])
  })

  it('names what is wrong: an unknown provider, keys given as well, missing keys without credentials', () => {
    expect(issuesOf({ bucket: 'b', region: 'r', credentials: { provider: 'vault' } })).toEqual([
      'buckets[0].s3.credentials: must be a provider function or { provider: env | container | web_identity | imds }',
    ])
    expect(issuesOf({ bucket: 'b', region: 'r', accessKey: 'k', secretKey: 's', credentials: { provider: 'env' } }).sort()).toEqual([
      'buckets[0].s3.accessKey: must not be given with credentials',
      'buckets[0].s3.secretKey: must not be given with credentials',
    ])
    expect(issuesOf({ bucket: 'b', region: 'r' }).sort()).toEqual(['buckets[0].s3.accessKey: required', 'buckets[0].s3.secretKey: required'])
  })
})
