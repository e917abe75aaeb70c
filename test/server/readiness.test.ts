/**
 * The server's readiness probe signs its HEAD of each bucket with the same SigV4 signer
 * as object requests. Any answer below 500 counts as reachable (a 403 is reported per
 * request, not by taking the instance out of rotation), so `/ready` alone would say
 * "ready" for an unsigned or wrongly signed probe: the test S3's verifier is what
 * proves the signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/index.js'
import { createReadiness } from '../../src/server/readiness.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'

let s3: TestS3
let sessionS3: TestS3
const session = { ...TEST_CREDENTIALS, sessionToken: 'SESSION-TOKEN-FOR-THE-PROBE' }

beforeAll(async () => {
  s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'eu-west-1' }] })
  sessionS3 = await startTestS3({ buckets: [{ name: 'temp', region: 'us-east-1' }], credentials: session })
})
afterAll(async () => {
  await s3.close()
  await sessionS3.close()
})

function bucket(name: string, endpoint: string, region: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  return {
    name,
    pathPrefix: `/${name}`,
    s3: {
      bucket: name,
      region,
      endpoint,
      accessKey: credentials.accessKeyId,
      secretKey: credentials.secretAccessKey,
      ...(credentials.sessionToken && { sessionToken: credentials.sessionToken }),
    },
  }
}

describe('readiness', () => {
  it('probes each bucket with a HEAD whose SigV4 signature S3 accepts, session token included', async () => {
    s3.reset()
    sessionS3.reset()
    const config = resolveConfig({
      buckets: [bucket('assets', s3.endpoint, 'eu-west-1', TEST_CREDENTIALS), bucket('temp', sessionS3.endpoint, 'us-east-1', session)],
    })
    const report = await createReadiness(config.buckets, { fetch: (url, init) => fetch(url, init) }).check()
    expect(report).toEqual({ ready: true, buckets: { assets: { ready: true }, temp: { ready: true } } })
    for (const server of [s3, sessionS3]) {
      expect(server.requests).toHaveLength(1)
      expect(server.requests[0]).toMatchObject({ method: 'HEAD', signature: 'valid', status: 200 })
      expect(server.requests[0]!.failure).toBeUndefined()
    }
    expect(sessionS3.requests[0]!.headers['x-amz-security-token']).toBe(session.sessionToken)
  })

  it('a wrong secret shows in the verifier, not in the report (why the signature is asserted above)', async () => {
    s3.reset()
    const config = resolveConfig({ buckets: [bucket('assets', s3.endpoint, 'eu-west-1', { ...TEST_CREDENTIALS, secretAccessKey: 'wrong' })] })
    const report = await createReadiness(config.buckets, { fetch: (url, init) => fetch(url, init) }).check()
    expect(report.ready).toBe(true)
    expect(s3.requests[0]).toMatchObject({ method: 'HEAD', status: 403 })
    expect(s3.requests[0]!.failure).toMatch(/signature does not match/)
  })
})
