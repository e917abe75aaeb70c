/**
 * `s3.credentials` with `replicas`: every replica without keys of its own signs with the
 * provider's current credentials, one with its own keys keeps signing with them. Each
 * replica is a SigV4-verifying test S3 that accepts one set of credentials at a time and
 * is rotated by the test, so a request signed with yesterday's keys would be refused.
 *
 * The provider's credentials expire the moment they are handed out, so each request
 * fetches the set current then: a rotation without a clock to drive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createYatagarasu, silentLogger, type AwsCredentials } from '../../src/index.js'
import { createReadiness } from '../../src/server/readiness.js'
import { resolveConfig } from '../../src/config/resolve.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'

const generation = (n: number) => ({ accessKeyId: `ASIAGENERATION${n}`, secretAccessKey: `secret-of-generation-${n}`, sessionToken: `session-token-${n}` })

let primary: TestS3
let backup: TestS3
let own: TestS3

beforeAll(async () => {
  ;[primary, backup, own] = await Promise.all([
    startTestS3({ buckets: [{ name: 'primary-bucket', region: 'us-east-1' }], credentials: generation(1) }),
    startTestS3({ buckets: [{ name: 'backup-bucket', region: 'eu-west-1' }], credentials: generation(1) }),
    startTestS3({ buckets: [{ name: 'own-bucket', region: 'ap-northeast-1' }] }),
  ])
  await Promise.all([
    primary.put('primary-bucket', 'doc.txt', 'from the primary'),
    backup.put('backup-bucket', 'doc.txt', 'from the backup'),
    own.put('own-bucket', 'doc.txt', 'from the replica with its own keys'),
  ])
})
afterAll(async () => {
  await Promise.all([primary, backup, own].map((s3) => s3?.close().catch(() => {})))
})

/** A provider handing out generation `current`, counting its calls. */
function rotatingProvider() {
  const state = { current: 1, calls: 0 }
  const provider = async (): Promise<AwsCredentials> => {
    state.calls++
    return { ...generation(state.current), expiration: new Date(Date.now()) }
  }
  return { state, provider }
}

function replicatedConfig(provider: () => Promise<AwsCredentials>) {
  return {
    buckets: [
      {
        name: 'r',
        pathPrefix: '/r',
        s3: {
          credentials: provider,
          replicas: [
            { name: 'primary', bucket: 'primary-bucket', region: 'us-east-1', endpoint: primary.endpoint, priority: 1 },
            { name: 'backup', bucket: 'backup-bucket', region: 'eu-west-1', endpoint: backup.endpoint, priority: 2 },
            {
              name: 'own',
              bucket: 'own-bucket',
              region: 'ap-northeast-1',
              endpoint: own.endpoint,
              accessKey: TEST_CREDENTIALS.accessKeyId,
              secretKey: TEST_CREDENTIALS.secretAccessKey,
              priority: 3,
            },
          ],
        },
      },
    ],
  }
}

describe('replicas with s3.credentials', () => {
  it('resolves: replicas without keys sign with the provider, one with keys keeps its own', () => {
    const { provider } = rotatingProvider()
    const targets = resolveConfig(replicatedConfig(provider)).buckets[0]!.s3.targets
    expect(targets.map((target) => [target.name, target.credentials === provider])).toEqual([
      ['primary', true],
      ['backup', true],
      ['own', false],
    ])
  })

  it('readiness probes sign with the provider current credentials too, rotation included', async () => {
    const { state, provider } = rotatingProvider()
    primary.setCredentials(generation(1))
    backup.setCredentials(generation(1))
    for (const s3 of [primary, backup, own]) s3.reset()
    const readiness = createReadiness(resolveConfig(replicatedConfig(provider)).buckets, { fetch: (url, init) => fetch(url, init), cacheMs: 0 })
    expect(await readiness.check()).toEqual({ ready: true, buckets: { r: { ready: true } } })
    state.current = 2
    primary.setCredentials(generation(2))
    backup.setCredentials(generation(2))
    expect(await readiness.check()).toEqual({ ready: true, buckets: { r: { ready: true } } })
    for (const [s3, tokens] of [
      [primary, ['session-token-1', 'session-token-2']],
      [backup, ['session-token-1', 'session-token-2']],
    ] as const) {
      expect(s3.requests.map((r) => [r.method, r.signature, r.status, r.headers['x-amz-security-token']])).toEqual(tokens.map((token) => ['HEAD', 'valid', 200, token]))
    }
    expect(own.requests.map((r) => [r.method, r.signature, r.status, r.headers['x-amz-security-token']])).toEqual([
      ['HEAD', 'valid', 200, undefined],
      ['HEAD', 'valid', 200, undefined],
    ])
    // One fetch per round, shared by the replicas probed together.
    expect(state.calls).toBe(2)
  })

  it('readiness without credentials to be had says so, without a probe', async () => {
    const provider = async (): Promise<AwsCredentials> => {
      throw new Error('no credentials endpoint here')
    }
    const config = resolveConfig({
      buckets: [{ name: 'r', pathPrefix: '/r', s3: { credentials: provider, replicas: [{ name: 'primary', bucket: 'primary-bucket', region: 'us-east-1', endpoint: primary.endpoint }] } }],
    })
    primary.reset()
    const report = await createReadiness(config.buckets, { fetch: (url, init) => fetch(url, init), logger: silentLogger }).check()
    expect(report).toEqual({ ready: false, buckets: { r: { ready: false, reason: 'no credentials' } } })
    expect(primary.requests).toEqual([])
  })

  it('every replica signs with the provider current credentials as they rotate, and failover keeps them', async () => {
    const { state, provider } = rotatingProvider()
    primary.setCredentials(generation(1))
    backup.setCredentials(generation(1))
    for (const s3 of [primary, backup, own]) s3.reset()
    const handler = createYatagarasu(replicatedConfig(provider), { logger: silentLogger })
    const get = async () => {
      const response = await handler(new Request('http://proxy.test/r/doc.txt'))
      return [response.status, await response.text()]
    }
    const signed = (s3: TestS3) => s3.requests.map((r) => [r.signature, r.status, r.headers['x-amz-security-token']])

    expect(await get()).toEqual([200, 'from the primary'])
    state.current = 2
    primary.setCredentials(generation(2))
    backup.setCredentials(generation(2))
    expect(await get()).toEqual([200, 'from the primary'])
    expect(signed(primary)).toEqual([
      ['valid', 200, 'session-token-1'],
      ['valid', 200, 'session-token-2'],
    ])

    // The primary goes away: the backup serves, signed with the same current credentials.
    await primary.close()
    expect(await get()).toEqual([200, 'from the backup'])
    state.current = 3
    backup.setCredentials(generation(3))
    expect(await get()).toEqual([200, 'from the backup'])
    expect(signed(backup)).toEqual([
      ['valid', 200, 'session-token-2'],
      ['valid', 200, 'session-token-3'],
    ])

    // Both gone: the replica with keys of its own signs with those, no session token.
    await backup.close()
    expect(await get()).toEqual([200, 'from the replica with its own keys'])
    expect(signed(own)).toEqual([['valid', 200, undefined]])
  })
})
