/**
 * The test S3 itself must be able to fail: its signature check reproduces AWS's
 * published example, refuses tampered, wrong-region and unsigned requests, and keeps
 * tricky keys intact.
 */
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalS3Path, computeS3Signature } from './support/sigv4-verify.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from './support/test-s3.js'

let s3: TestS3
beforeAll(async () => {
  s3 = await startTestS3({ buckets: [{ name: 'alpha', region: 'eu-west-1' }] })
})
afterAll(() => s3.close())

async function signedGet(key: string, options: { region?: string; tamper?: boolean; secret?: string } = {}) {
  const url = new URL(`${s3.endpoint}/alpha/${canonicalS3Path(key)}`)
  const signer = new SignatureV4({
    service: 's3',
    region: options.region ?? 'eu-west-1',
    sha256: Sha256,
    credentials: { accessKeyId: TEST_CREDENTIALS.accessKeyId, secretAccessKey: options.secret ?? TEST_CREDENTIALS.secretAccessKey },
    uriEscapePath: false,
    applyChecksum: false,
  })
  const signed = await signer.sign({
    method: 'GET',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  })
  const headers = { ...signed.headers } as Record<string, string>
  if (options.tamper) headers.authorization = headers.authorization!.replace(/.$/, (c) => (c === '0' ? '1' : '0'))
  return fetch(url, { headers })
}

describe('the test S3', () => {
  it("reproduces AWS's published SigV4 example (S3 GET Object)", async () => {
    const signature = await computeS3Signature({
      method: 'GET',
      canonicalPath: '/test.txt',
      query: {},
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'x-amz-date': '20130524T000000Z',
      },
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      region: 'us-east-1',
      amzDate: '20130524T000000Z',
    })
    expect(signature).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41')
  })

  it('serves a correctly signed request and refuses tampered, wrong-region, wrong-secret and unsigned ones', async () => {
    await s3.put('alpha', 'hello.txt', 'hello world', { 'Content-Type': 'text/plain' })
    const ok = await signedGet('hello.txt')
    expect(ok.status).toBe(200)
    expect(await ok.text()).toBe('hello world')
    expect((await signedGet('hello.txt', { tamper: true })).status).toBe(403)
    expect((await signedGet('hello.txt', { region: 'us-east-1' })).status).toBe(403)
    expect((await signedGet('hello.txt', { secret: 'wrong' })).status).toBe(403)
    expect((await fetch(`${s3.endpoint}/alpha/hello.txt`)).status).toBe(403)
    expect(s3.requests.map((r) => r.signature)).toEqual(['valid', 'invalid', 'invalid', 'invalid', 'missing'])
  })

  it.each(['a b.txt', 'a+b.txt', '100%.txt', 'ünï/日本.txt', "()[]!*'.txt", 'deep/er/path.bin', 'q?x=1&y#.txt'])(
    'keeps the key %s intact',
    async (key) => {
      await s3.put('alpha', key, `body of ${key}`)
      const response = await signedGet(key)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe(`body of ${key}`)
      expect(s3.requests.at(-1)?.key).toBe(key)
    },
  )

  it('drips throttled objects and notices a proxy that hangs up', async () => {
    await s3.put('alpha', 'slow.bin', new Uint8Array(64 * 1024))
    s3.throttle('alpha', 'slow.bin', { chunkSize: 4096, intervalMs: 20 })
    const url = new URL(`${s3.endpoint}/alpha/slow.bin`)
    s3.reset()
    const signedResponse = await signedGet('slow.bin')
    const reader = signedResponse.body!.getReader()
    const started = performance.now()
    await reader.read()
    const firstByteMs = performance.now() - started
    await reader.cancel()
    const result = await s3.requests[0]!.done
    expect(firstByteMs).toBeLessThan(1000)
    expect(result.completed).toBe(false)
    expect(result.bytesSent).toBeLessThan(64 * 1024)
    expect(url.pathname).toBe('/alpha/slow.bin')
  })

  it('records the raw request', async () => {
    s3.reset()
    await new Promise<void>((resolve) => http.get(`${s3.endpoint}/alpha/x%20y?acl`, (res) => res.resume().on('end', resolve)))
    expect(s3.requests[0]).toMatchObject({ method: 'GET', rawPath: '/alpha/x%20y', rawQuery: 'acl', bucket: 'alpha', key: 'x y' })
  })
})
