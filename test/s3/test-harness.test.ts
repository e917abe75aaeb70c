/**
 * The test S3 must be able to fail, or the integration tests prove nothing. Here it
 * reproduces AWS's published SigV4 example, refuses tampered / mis-scoped / unsigned
 * requests, accepts exactly what S3 accepts for tricky keys, and its throttling and
 * disconnect bookkeeping are checked against a real socket.
 *
 * Requests are signed with @smithy/signature-v4 directly (never aws4fetch, which the
 * code under test uses) and sent with node:http, so the path on the wire is exactly the
 * one written here (fetch would normalise `..` and re-encode some characters).
 */
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import http from 'node:http'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { computeS3Signature } from '../support/sigv4-verify.js'
import { startTestS3, storageKey, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'

const REGION = 'eu-west-1'
let s3: TestS3
let host: string

beforeAll(async () => {
  s3 = await startTestS3({ buckets: [{ name: 'alpha', region: REGION }, { name: 'beta', region: 'ap-northeast-1' }] })
  host = new URL(s3.endpoint).host
})
afterAll(() => s3.close())
beforeEach(() => s3.reset())

interface SignOptions {
  method?: string
  /** The path to put in the canonical request; defaults to the wire path. */
  signPath?: string
  query?: Record<string, string>
  region?: string
  accessKeyId?: string
  secret?: string
  sessionToken?: string
  signingDate?: Date
  headers?: Record<string, string>
  unsignable?: string[]
}

/** Signed headers for a request to `wirePath` on `endpoint`. */
async function signedHeaders(wirePath: string, options: SignOptions = {}, endpointHost = host): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: 's3',
    region: options.region ?? REGION,
    sha256: Sha256,
    credentials: {
      accessKeyId: options.accessKeyId ?? TEST_CREDENTIALS.accessKeyId,
      secretAccessKey: options.secret ?? TEST_CREDENTIALS.secretAccessKey,
      ...(options.sessionToken !== undefined && { sessionToken: options.sessionToken }),
    },
    uriEscapePath: false, // like the AWS SDK for S3: the path given is already encoded
    applyChecksum: false,
  })
  const signed = await signer.sign(
    {
      method: options.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: options.signPath ?? wirePath,
      query: options.query ?? {},
      headers: { host: endpointHost, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...options.headers },
    },
    {
      ...(options.signingDate && { signingDate: options.signingDate }),
      ...(options.unsignable && { unsignableHeaders: new Set(options.unsignable) }),
    },
  )
  return signed.headers as Record<string, string>
}

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

/** A request with the target sent byte for byte as given. */
function send(target: string, headers: Record<string, string>, method = 'GET', endpoint = s3.endpoint): Promise<Reply> {
  const { hostname, port } = new URL(endpoint)
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path: target, headers }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (chunk: Buffer) => parts.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function signedGet(wirePath: string, options: SignOptions = {}): Promise<Reply> {
  const query = options.query ? `?${new URLSearchParams(options.query)}` : ''
  return send(wirePath + query, await signedHeaders(wirePath, options), options.method)
}

function flipLastHexDigit(authorization: string): string {
  return authorization.replace(/[0-9a-f]$/, (c) => (c === '0' ? '1' : '0'))
}

describe('SigV4 verification function', () => {
  const example = {
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
  }

  it("reproduces AWS's published example for S3 GET Object", async () => {
    expect(await computeS3Signature(example)).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41')
  })

  it('gives a different signature when anything signed changes', async () => {
    const variants = [
      { ...example, headers: { ...example.headers, range: 'bytes=0-8' } },
      { ...example, canonicalPath: '/test%2Etxt' },
      { ...example, region: 'us-east-2' },
      { ...example, query: { versionId: '1' } },
    ]
    for (const variant of variants) {
      expect(await computeS3Signature(variant)).not.toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41')
    }
  })
})

describe('the verifying front', () => {
  beforeAll(async () => {
    await s3.put('alpha', 'hello.txt', 'hello world', { 'Content-Type': 'text/plain' })
    await s3.put('beta', 'hello.txt', 'konnichiwa')
  })

  it('serves a correctly signed request and records it', async () => {
    const reply = await signedGet('/alpha/hello.txt')
    expect(reply.status).toBe(200)
    expect(reply.body.toString()).toBe('hello world')
    const [record] = s3.requests
    expect(record).toMatchObject({ method: 'GET', rawPath: '/alpha/hello.txt', rawQuery: '', bucket: 'alpha', key: 'hello.txt', signature: 'valid', status: 200 })
    expect(record?.failure).toBeUndefined()
    expect(await record?.done).toEqual({ completed: true, bytesSent: 11 })
  })

  it('checks each bucket against its own region', async () => {
    expect((await signedGet('/beta/hello.txt', { region: 'ap-northeast-1' })).body.toString()).toBe('konnichiwa')
    expect((await signedGet('/beta/hello.txt', { region: REGION })).status).toBe(403)
  })

  it('signs over the query too', async () => {
    const ok = await signedGet('/alpha/hello.txt', { query: { 'response-content-type': 'text/x-test' } })
    expect(ok.status).toBe(200)
    expect(ok.headers['content-type']).toBe('text/x-test')
    const headers = await signedHeaders('/alpha/hello.txt', { query: { 'response-content-type': 'text/x-test' } })
    expect((await send('/alpha/hello.txt?response-content-type=text/x-evil', headers)).status).toBe(403)
  })

  it('refuses a signature with one hex digit changed', async () => {
    const headers = await signedHeaders('/alpha/hello.txt')
    const reply = await send('/alpha/hello.txt', { ...headers, authorization: flipLastHexDigit(headers.authorization!) })
    expect(reply.status).toBe(403)
    expect(reply.headers['content-type']).toBe('application/xml')
    expect(reply.body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>')
    expect(s3.requests[0]).toMatchObject({ signature: 'invalid', status: 403, failure: expect.stringContaining('signature does not match') })
  })

  it('refuses unsigned requests with AccessDenied', async () => {
    const reply = await send('/alpha/hello.txt', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' })
    expect(reply.status).toBe(403)
    expect(reply.headers['content-type']).toBe('application/xml')
    expect(reply.body.toString()).toContain('<Code>AccessDenied</Code>')
    expect(s3.requests[0]).toMatchObject({ signature: 'missing', status: 403 })
  })

  const twentyMinutesAgo = () => new Date(Date.now() - 20 * 60 * 1000)
  it.each<[string, SignOptions, string]>([
    ['wrong region', { region: 'us-east-1' }, 'region us-east-1'],
    ['wrong secret', { secret: 'not-the-secret' }, 'signature does not match'],
    ['unknown access key', { accessKeyId: 'AKIDEXAMPLE' }, 'unknown access key'],
    ['x-amz-date 20 minutes old', { signingDate: twentyMinutesAgo() }, '15 minutes'],
    ['host not signed', { unsignable: ['host'] }, 'host is not signed'],
    ['an x-amz-* header not signed', { headers: { 'x-amz-meta-x': '1' }, unsignable: ['x-amz-meta-x'] }, 'not signed'],
    ['a session token the credentials do not have', { sessionToken: 'stray' }, 'x-amz-security-token'],
    ['a path signed in its decoded form', { signPath: '/alpha/a b.txt' }, 'signature does not match'],
  ])('refuses %s', async (_, options, failure) => {
    const wirePath = options.signPath ? '/alpha/a%20b.txt' : '/alpha/hello.txt'
    const reply = await signedGet(wirePath, options)
    expect(reply.status).toBe(403)
    expect(reply.body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>')
    expect(s3.requests[0]?.failure).toContain(failure)
  })

  it('refuses a request without x-amz-content-sha256', async () => {
    const headers = await signedHeaders('/alpha/hello.txt')
    delete headers['x-amz-content-sha256']
    expect((await send('/alpha/hello.txt', headers)).status).toBe(403)
    expect(s3.requests[0]?.failure).toContain('x-amz-content-sha256 missing')
  })

  it('forwards HEAD and conditional requests with status and headers', async () => {
    const head = await signedGet('/alpha/hello.txt', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe('11')
    const etag = String(head.headers.etag)
    const conditional = await signedGet('/alpha/hello.txt', { headers: { 'if-none-match': etag } })
    expect(conditional.status).toBe(304)
    expect(s3.requests.map((r) => r.status)).toEqual([200, 304])
  })
})

describe('keys', () => {
  // Wire paths written out by hand (strict RFC 3986, as S3 canonicalises), not computed.
  it.each([
    ['a b.txt', '/alpha/a%20b.txt'],
    ['a+b.txt', '/alpha/a%2Bb.txt'],
    ['100%.txt', '/alpha/100%25.txt'],
    ['ünï/日本.txt', '/alpha/%C3%BCn%C3%AF/%E6%97%A5%E6%9C%AC.txt'],
    ["()[]!*'.txt", '/alpha/%28%29%5B%5D%21%2A%27.txt'],
    ['q?x=1&y#.txt', '/alpha/q%3Fx%3D1%26y%23.txt'],
    ['~tilde_-.txt', '/alpha/~tilde_-.txt'],
    ['dir/sub dir/x+y (1).txt', '/alpha/dir/sub%20dir/x%2By%20%281%29.txt'],
  ])('%s round-trips', async (key, wirePath) => {
    await s3.put('alpha', key, `body of ${key}`)
    const reply = await signedGet(wirePath)
    expect(reply.status).toBe(200)
    expect(reply.body.toString()).toBe(`body of ${key}`)
    expect(s3.requests[0]).toMatchObject({ rawPath: wirePath, key, signature: 'valid' })
  })

  it('takes a literal + in the path as +, as S3 does (signed over its canonical %2B)', async () => {
    await s3.put('alpha', 'plus+sign.txt', 'plus')
    await s3.put('alpha', 'plus sign.txt', 'space')
    const literal = await signedGet('/alpha/plus+sign.txt', { signPath: '/alpha/plus%2Bsign.txt' })
    expect(literal.body.toString()).toBe('plus')
    // aws4fetch's mistake for s3 (+ signed as a space) is caught:
    expect((await signedGet('/alpha/plus+sign.txt', { signPath: '/alpha/plus%20sign.txt' })).status).toBe(403)
    // and so is signing the wire form instead of the canonical one:
    expect((await signedGet('/alpha/plus+sign.txt')).status).toBe(403)
  })

  it('accepts other equivalent encodings only when signed over the canonical path', async () => {
    await s3.put('alpha', '(x).txt', 'parens')
    expect((await signedGet('/alpha/(x).txt', { signPath: '/alpha/%28x%29.txt' })).body.toString()).toBe('parens')
    expect((await signedGet('/alpha/%28x%29.txt')).body.toString()).toBe('parens')
    expect((await signedGet('/alpha/(x).txt')).status).toBe(403)
    expect((await signedGet('/alpha/%28x%29%2etxt', { signPath: '/alpha/%28x%29.txt' })).status).toBe(200)
  })

  it('keeps empty and dot segments as part of the key (s3rver alone cannot)', async () => {
    const keys = ['a/b', 'a//b', '/lead', 'x/../y', 'y', 'x/./y', 'x/y', '../../escape', 'dir/']
    for (const key of keys) await s3.put('alpha', key, `body of ${key}`)
    const wire = ['/alpha/a/b', '/alpha/a//b', '/alpha//lead', '/alpha/x/../y', '/alpha/y', '/alpha/x/./y', '/alpha/x/y', '/alpha/../../escape', '/alpha/dir/']
    for (const [i, wirePath] of wire.entries()) {
      const reply = await signedGet(wirePath)
      expect(reply.status, wirePath).toBe(200)
      expect(reply.body.toString()).toBe(`body of ${keys[i]}`)
    }
    expect(s3.requests.map((r) => r.key)).toEqual(keys)
  })

  it('maps keys for s3rver one-to-one', () => {
    const keys = ['a//b', 'a/\uE000/b', 'a/\uE000\uE000/b', 'a/./b', 'a/\uE000./b', '..', 'plain/key']
    const mapped = keys.map(storageKey)
    expect(new Set(mapped).size).toBe(keys.length)
    expect(storageKey('plain/key')).toBe('plain/key')
  })

  it('keeps Content-Type, Cache-Control, Content-Disposition and x-amz-meta-* from put()', async () => {
    await s3.put('alpha', 'doc.pdf', 'pdf', {
      'Content-Type': 'application/pdf',
      'Cache-Control': 'max-age=60',
      'Content-Disposition': 'attachment; filename="doc.pdf"',
      'x-amz-meta-owner': 'tests',
    })
    const reply = await signedGet('/alpha/doc.pdf')
    expect(reply.headers).toMatchObject({
      'content-type': 'application/pdf',
      'cache-control': 'max-age=60',
      'content-disposition': 'attachment; filename="doc.pdf"',
      'x-amz-meta-owner': 'tests',
    })
  })

  it('records the raw target and the decoded bucket and key', async () => {
    await send('/alpha/x%20y?acl', {})
    expect(s3.requests[0]).toMatchObject({ method: 'GET', rawPath: '/alpha/x%20y', rawQuery: 'acl', bucket: 'alpha', key: 'x y' })
  })
})

describe('session credentials', () => {
  const credentials = { accessKeyId: 'ASIATEST', secretAccessKey: 'session-secret', sessionToken: 'the-session-token' }
  let withToken: TestS3
  beforeAll(async () => {
    withToken = await startTestS3({ buckets: [{ name: 'gamma', region: 'us-west-2' }], credentials })
    await withToken.put('gamma', 'k', 'v')
  })
  afterAll(() => withToken.close())

  async function get(options: SignOptions, mutate = (h: Record<string, string>) => h) {
    const endpointHost = new URL(withToken.endpoint).host
    const base = { region: 'us-west-2', accessKeyId: credentials.accessKeyId, secret: credentials.secretAccessKey }
    const headers = mutate(await signedHeaders('/gamma/k', { ...base, ...options }, endpointHost))
    return send('/gamma/k', headers, 'GET', withToken.endpoint)
  }

  it('requires the session token, signed', async () => {
    expect((await get({ sessionToken: credentials.sessionToken })).status).toBe(200)
    expect((await get({})).status).toBe(403)
    expect((await get({ sessionToken: 'other' })).status).toBe(403)
    expect((await get({}, (h) => ({ ...h, 'x-amz-security-token': credentials.sessionToken }))).status).toBe(403)
    expect(withToken.requests.map((r) => r.signature)).toEqual(['valid', 'invalid', 'invalid', 'invalid'])
  })
})

describe('streaming', () => {
  const SIZE = 64 * 1024
  const body = new Uint8Array(SIZE).map((_, i) => i % 251)

  beforeAll(async () => {
    await s3.put('alpha', 'slow.bin', body)
    await s3.put('alpha', 'fast.bin', body)
    s3.throttle('alpha', 'slow.bin', { chunkSize: 4096, intervalMs: 20 })
  })

  it('counts every byte of an unthrottled body', async () => {
    const reply = await signedGet('/alpha/fast.bin')
    expect(Buffer.compare(reply.body, Buffer.from(body))).toBe(0)
    expect(await s3.requests[0]!.done).toEqual({ completed: true, bytesSent: SIZE })
  })

  it('delivers a throttled object in paced chunks, the first before the rest is sent', async () => {
    const headers = await signedHeaders('/alpha/slow.bin')
    const arrivals: Array<{ bytes: number; sentSoFar: number }> = []
    await new Promise<void>((resolve, reject) => {
      const { hostname, port } = new URL(s3.endpoint)
      http
        .get({ hostname, port, path: '/alpha/slow.bin', headers }, (res) => {
          res.on('data', (chunk: Buffer) =>
            arrivals.push({ bytes: chunk.length, sentSoFar: s3.requests[0]!.bytesSent }),
          )
          res.on('end', resolve)
        })
        .on('error', reject)
    })
    const first = arrivals[0]!
    expect(arrivals.reduce((sum, a) => sum + a.bytes, 0)).toBe(SIZE)
    // The first chunk reached the client while the server had sent only part of the body
    // (bytesSent is live: neither 0 nor everything), so it did not wait for the rest.
    expect(first.sentSoFar).toBeGreaterThan(0)
    expect(first.sentSoFar).toBeLessThan(SIZE)
    // Paced, not sent in one go: the client saw the server's count grow between chunks,
    // in several steps (16 chunks of 4 KB, one per interval).
    const steps = new Set(arrivals.map((a) => a.sentSoFar))
    expect(steps.size).toBeGreaterThanOrEqual(8)
    expect(arrivals.map((a) => a.sentSoFar)).toEqual([...arrivals.map((a) => a.sentSoFar)].sort((x, y) => x - y))
    expect(await s3.requests[0]!.done).toEqual({ completed: true, bytesSent: SIZE })
  })

  it('notices a client that hangs up, and stops the transfer', async () => {
    const headers = await signedHeaders('/alpha/slow.bin')
    await new Promise<void>((resolve) => {
      const { hostname, port } = new URL(s3.endpoint)
      const req = http.get({ hostname, port, path: '/alpha/slow.bin', headers }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => {})
    })
    const result = await s3.requests[0]!.done
    expect(result.completed).toBe(false)
    expect(result.bytesSent).toBeGreaterThan(0)
    expect(result.bytesSent).toBeLessThan(SIZE / 2)
    // Nothing more is written once the client is gone: the copy loop ends without writing again.
    await s3.requests[0]!.stopped
    expect(s3.requests[0]!.bytesSent).toBe(result.bytesSent)
  })
})
