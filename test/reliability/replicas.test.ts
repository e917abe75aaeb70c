/**
 * Replicas: tried by priority (lower first) when one fails (connection error, 5xx,
 * timeout) or its circuit is open; a stream already started is never switched. The
 * healthy replica is the SigV4-verifying test S3, so each replica is shown to sign
 * with its own bucket, region and credentials.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import {
  ConfigError,
  createYatagarasu,
  resolveConfig,
  silentLogger,
  type S3ReplicaConfig,
  type YatagarasuConfig,
} from '../../src/index.js'
import { refusedEndpoint, startFaultyOrigin, type FaultyOrigin } from '../support/faulty-origin.js'
import { rawRequest } from '../support/raw-http.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'

let s3: TestS3
let faulty: FaultyOrigin
let refused: string
let healthy: S3ReplicaConfig

beforeAll(async () => {
  ;[s3, faulty, refused] = await Promise.all([
    startTestS3({ buckets: [{ name: 'backup-bucket', region: 'eu-west-1' }] }),
    startFaultyOrigin(),
    refusedEndpoint(),
  ])
  healthy = {
    name: 'backup',
    bucket: 'backup-bucket',
    region: 'eu-west-1',
    endpoint: s3.endpoint,
    accessKey: TEST_CREDENTIALS.accessKeyId,
    secretKey: TEST_CREDENTIALS.secretAccessKey,
    priority: 2,
  }
  await s3.put('backup-bucket', 'doc.txt', 'from the backup', { 'Content-Type': 'text/plain' })
  await s3.put('backup-bucket', 'big.bin', 'b'.repeat(200_000))
})
afterAll(async () => {
  await s3?.close()
  await faulty?.close()
})
beforeEach(() => {
  s3.reset()
  faulty.reset()
})

const failing = (endpoint: string, extra: Partial<S3ReplicaConfig> = {}): S3ReplicaConfig => ({
  name: 'primary',
  bucket: 'primary-bucket',
  region: 'us-east-1',
  endpoint,
  accessKey: 'AK',
  secretKey: 'SK',
  priority: 1,
  ...extra,
})

function handlerWith(replicas: S3ReplicaConfig[], s3Extra: Record<string, unknown> = {}) {
  return createYatagarasu(
    { buckets: [{ name: 'r', pathPrefix: '/r', s3: { replicas, ...s3Extra } }] } as YatagarasuConfig,
    { logger: silentLogger },
  )
}

describe('failover between replicas', () => {
  it('one replica down (connection refused): served by the next, signed for its own bucket and region', async () => {
    const proxy = await serve(handlerWith([healthy, failing(refused)]))
    try {
      const response = await rawRequest(`${proxy.url}/r/doc.txt`)
      expect(response.status).toBe(200)
      expect(response.body.toString()).toBe('from the backup')
      expect(s3.requests).toHaveLength(1)
      expect(s3.requests[0]!.signature).toBe('valid')
      expect(s3.requests[0]!.bucket).toBe('backup-bucket')
    } finally {
      await proxy.close()
    }
  })

  it.each([500, 503])('primary answering %d: the backup serves', async (status) => {
    faulty.setDefault({ kind: 'status', status })
    const response = await handlerWith([failing(faulty.endpoint), healthy])(new Request('http://proxy.test/r/doc.txt'))
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('from the backup')
    expect(faulty.requests).toHaveLength(1)
    expect(s3.requests).toHaveLength(1)
  })

  it('primary too slow (its own timeout): the backup serves', async () => {
    faulty.setDefault({ kind: 'hang' })
    const response = await handlerWith([failing(faulty.endpoint, { timeout: 0.2 }), { ...healthy, timeout: 5 }])(
      new Request('http://proxy.test/r/doc.txt'),
    )
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('from the backup')
    expect(faulty.requests).toHaveLength(1)
    // The primary never answered: the proxy gave up on it (its own timeout) and hung up.
    expect(await faulty.requests[0]!.done).toEqual({ completed: false, bytesSent: 0 })
    expect(s3.requests).toHaveLength(1)
  })

  it('tries by priority, not by position in the list', async () => {
    faulty.setDefault({ kind: 'ok', body: 'from the faulty one' })
    const response = await handlerWith([healthy, failing(faulty.endpoint, { priority: 1 })])(
      new Request('http://proxy.test/r/doc.txt'),
    )
    expect(await response.text()).toBe('from the faulty one')
    expect(s3.requests).toHaveLength(0)
  })

  it('a 404 from the primary is an answer, not a failure: no failover', async () => {
    faulty.setDefault({ kind: 'status', status: 404 })
    const response = await handlerWith([failing(faulty.endpoint), healthy])(new Request('http://proxy.test/r/doc.txt'))
    expect(response.status).toBe(404)
    expect(s3.requests).toHaveLength(0)
  })

  it('all replicas down: 502 after one attempt each', async () => {
    faulty.setDefault({ kind: 'status', status: 500 })
    const response = await handlerWith([failing(faulty.endpoint), failing(refused, { name: 'second', priority: 2 })])(
      new Request('http://proxy.test/r/doc.txt'),
    )
    expect(response.status).toBe(502)
    expect(faulty.requests).toHaveLength(1)
    const body = await response.text()
    expect(body).not.toContain('ORIGINREQUESTID')
    expect(body).not.toContain('127.0.0.1')
  })

  it('all down with retries: each round tries every replica again', async () => {
    faulty.setDefault({ kind: 'status', status: 500 })
    const response = await handlerWith(
      [failing(faulty.endpoint), failing(faulty.endpoint, { name: 'second', priority: 2 })],
      { retries: 1 },
    )(new Request('http://proxy.test/r/doc.txt'))
    expect(response.status).toBe(502)
    expect(faulty.requests).toHaveLength(4)
  })

  it('skips a replica whose circuit is open, without contacting it', async () => {
    faulty.setDefault({ kind: 'status', status: 503 })
    const handler = handlerWith([failing(faulty.endpoint), healthy], {
      circuitBreaker: { failureThreshold: 2, timeoutSeconds: 30 },
    })
    for (let i = 0; i < 2; i++) expect((await handler(new Request('http://proxy.test/r/doc.txt'))).status).toBe(200)
    expect(faulty.requests).toHaveLength(2)
    for (let i = 0; i < 5; i++) expect((await handler(new Request('http://proxy.test/r/doc.txt'))).status).toBe(200)
    expect(faulty.requests).toHaveLength(2) // open: no more requests to the primary
    expect(s3.requests).toHaveLength(7)
  })

  it('every circuit open: 503 with Retry-After and no S3 request at all', async () => {
    faulty.setDefault({ kind: 'status', status: 500 })
    const handler = handlerWith(
      [failing(faulty.endpoint), failing(faulty.endpoint, { name: 'second', priority: 2 })],
      { circuitBreaker: { failureThreshold: 1, timeoutSeconds: 5 } },
    )
    expect((await handler(new Request('http://proxy.test/r/a'))).status).toBe(502)
    expect(faulty.requests).toHaveLength(2)
    const response = await handler(new Request('http://proxy.test/r/a'))
    expect(response.status).toBe(503)
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(5)
    expect(faulty.requests).toHaveLength(2)
  })

  it('never switches a stream that has started: a primary stalling mid-body aborts the client', async () => {
    faulty.setDefault({ kind: 'stall', body: 'p'.repeat(200_000), afterBytes: 5000 })
    const proxy = await serve(handlerWith([failing(faulty.endpoint), healthy], { idleTimeout: 0.3 }))
    try {
      const response = await rawRequest(`${proxy.url}/r/big.bin`)
      expect(response.status).toBe(200)
      expect(response.aborted).toBe(true)
      expect(response.body.toString()).toBe('p'.repeat(5000))
      // The proxy hung up on the stalled primary; a switch would have asked the backup by then.
      expect(await faulty.requests[0]!.done).toEqual({ completed: false, bytesSent: 5000 })
      expect(s3.requests).toHaveLength(0)
    } finally {
      await proxy.close()
    }
  })
})

describe('replica config', () => {
  const replica = { name: 'a', bucket: 'x', region: 'us-east-1', accessKey: 'AKIDREPLICA', secretKey: 'REPLICA-SECRET' }

  it('with replicas, the plain s3 fields are optional and not a target', () => {
    const resolved = resolveConfig({
      buckets: [
        {
          name: 'r',
          pathPrefix: '/r',
          s3: {
            bucket: 'legacy', region: 'us-west-2', accessKey: 'AKIDLEGACY', secretKey: 'LEGACY-SECRET',
            timeout: 7,
            replicas: [
              { ...replica, name: 'b', priority: 5 },
              { ...replica, name: 'a', priority: 1, timeout: 2 },
            ],
          },
        },
      ],
    })
    const s3 = resolved.buckets[0]!.s3
    expect(s3.targets.map((t) => [t.name, t.priority, t.timeoutMs])).toEqual([
      ['a', 1, 2000],
      ['b', 5, 7000],
    ])
    expect(s3.bucket).toBe('x') // the primary target's fields
    expect(resolveConfig({ buckets: [{ name: 'r', pathPrefix: '/r', s3: { replicas: [replica] } }] }).buckets[0]!.s3.targets).toHaveLength(1)
  })

  it('without replicas the plain fields are required', () => {
    try {
      resolveConfig({ buckets: [{ name: 'r', pathPrefix: '/r', s3: { endpoint: 'http://x' } }] } as never)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
        'buckets[0].s3.bucket: required',
        'buckets[0].s3.region: required',
        'buckets[0].s3.accessKey: required',
        'buckets[0].s3.secretKey: required',
      ])
    }
  })

  it('names the path of a bad replica and refuses duplicate names', () => {
    try {
      resolveConfig({
        buckets: [{ name: 'r', pathPrefix: '/r', s3: { replicas: [replica, { ...replica, region: undefined }, { ...replica }] } }],
      } as never)
      expect.unreachable()
    } catch (error) {
      const issues = (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)
      expect(issues).toContain('buckets[0].s3.replicas[1].region: required')
      expect(issues).toContain('buckets[0].s3.replicas[1].name: duplicates replicas[0].name')
      expect(issues).toContain('buckets[0].s3.replicas[2].name: duplicates replicas[0].name')
      expect((error as Error).message).not.toContain('REPLICA-SECRET')
    }
  })

  it('masks replica secrets in JSON like the main s3 block', () => {
    const resolved = resolveConfig({
      buckets: [{ name: 'r', pathPrefix: '/r', s3: { replicas: [{ ...replica, sessionToken: 'REPLICA-SESSION' }] } }],
    })
    const json = JSON.stringify(resolved)
    expect(json).not.toContain('REPLICA-SECRET')
    expect(json).not.toContain('REPLICA-SESSION')
    expect(json).not.toContain('AKIDREPLICA')
    expect(json).toContain('"targets":[{')
    expect(resolved.buckets[0]!.s3.targets[0]!.secretKey).toBe('REPLICA-SECRET')
  })

  it('validates retries, idleTimeout and circuitBreaker', () => {
    try {
      resolveConfig({
        buckets: [
          {
            name: 'r',
            pathPrefix: '/r',
            s3: { ...replica, retries: 11, idleTimeout: 0, circuitBreaker: { failureThreshold: 0, successThreshold: 1.5, timeoutSeconds: -1 } },
          },
        ],
      } as never)
      expect.unreachable()
    } catch (error) {
      expect((error as ConfigError).issues.map((i) => i.path).sort()).toEqual(
        [
          'buckets[0].s3.circuitBreaker.failureThreshold',
          'buckets[0].s3.circuitBreaker.successThreshold',
          'buckets[0].s3.circuitBreaker.timeoutSeconds',
          'buckets[0].s3.idleTimeout',
          'buckets[0].s3.retries',
        ].sort(),
      )
    }
  })

  it('applies the documented defaults', () => {
    const s3 = resolveConfig({ buckets: [{ name: 'r', pathPrefix: '/r', s3: { ...replica, circuitBreaker: {} } }] }).buckets[0]!.s3
    expect(s3.retries).toBe(0)
    expect(s3.idleTimeoutMs).toBe(30_000)
    expect(s3.circuitBreaker).toEqual({ failureThreshold: 5, successThreshold: 2, timeoutMs: 30_000 })
    expect(s3.targets).toHaveLength(1)
    expect(s3.targets[0]!.name).toBe('default')
  })
})
