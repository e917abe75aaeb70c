/**
 * The proxy against a real S3-compatible server over HTTP (s3rver behind an
 * independent SigV4 check): signing and key encoding, multi-region buckets, object
 * headers, ranges and conditionals, streaming, disconnects, and hostile requests.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import { createYatagarasu, type FetchHandler, type YatagarasuConfig } from '../../src/index.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import { deterministicBytes } from '../support/deterministic-bytes.js'

const BIG = 64 * 1024 * 1024
const SLOW_SIZE = 2 * 1024 * 1024
let s3: TestS3
let handler: FetchHandler
let proxy: NodeServer
let bigDigest: string
let config: YatagarasuConfig

beforeAll(async () => {
  s3 = await startTestS3({
    buckets: [
      { name: 'assets', region: 'us-east-1' },
      { name: 'eu-assets', region: 'eu-central-1' },
    ],
  })
  const credentials = { endpoint: s3.endpoint, accessKey: TEST_CREDENTIALS.accessKeyId, secretKey: TEST_CREDENTIALS.secretAccessKey }
  config = {
    buckets: [
      { name: 'assets', pathPrefix: '/assets', s3: { bucket: 'assets', region: 'us-east-1', ...credentials } },
      { name: 'eu', pathPrefix: '/eu', s3: { bucket: 'eu-assets', region: 'eu-central-1', ...credentials } },
      { name: 'wrong-secret', pathPrefix: '/broken', s3: { bucket: 'assets', region: 'us-east-1', ...credentials, secretKey: 'wrong' } },
    ],
  }
  handler = createYatagarasu(config)
  proxy = await serve(handler, { port: 0 })
  const big = deterministicBytes(BIG)
  bigDigest = createHash('sha256').update(big).digest('hex')
  await Promise.all([
    s3.put('assets', 'hello.txt', 'hello world', {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'max-age=60',
      'Content-Disposition': 'inline; filename="hello.txt"',
      'Content-Language': 'en',
      'x-amz-meta-author': 'ada',
    }),
    s3.put('eu-assets', 'hello.txt', 'hallo welt'),
    s3.put('assets', 'big.bin', big, { 'Content-Type': 'application/octet-stream' }),
    s3.put('assets', 'slow.bin', deterministicBytes(SLOW_SIZE)),
    s3.put('assets', 'page.html.gz', gzipSync('<p>compressed</p>'.repeat(100)), {
      'Content-Type': 'text/html',
      'Content-Encoding': 'gzip',
    }),
  ])
  s3.throttle('assets', 'slow.bin', { chunkSize: 16 * 1024, intervalMs: 20 })
}, 60_000)

afterAll(async () => {
  await proxy?.close()
  await s3?.close()
})

beforeEach(() => s3.reset())

describe('signing and keys against a verifying S3', () => {
  it.each(['a b.txt', 'a+b.txt', '100%.txt', 'ünï/日本.txt', "()[]!*'.txt", 'dir/sub dir/x+y (1).txt', '~tilde_._-'])(
    'serves %s with a valid signature',
    async (key) => {
      await s3.put('assets', key, `content of ${key}`)
      s3.reset()
      const path = key.split('/').map(encodeURIComponent).join('/')
      const response = await fetch(`${proxy.url}/assets/${path}`)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe(`content of ${key}`)
      expect(s3.requests).toHaveLength(1)
      expect(s3.requests[0]).toMatchObject({ signature: 'valid', bucket: 'assets', key, rawQuery: '' })
    },
  )

  it('signs each bucket with its own region', async () => {
    const response = await fetch(`${proxy.url}/eu/hello.txt`)
    expect(await response.text()).toBe('hallo welt')
    expect(s3.requests[0]?.signature).toBe('valid')
    expect(s3.requests[0]?.headers.authorization).toContain('/eu-central-1/s3/aws4_request')
  })

  it('a wrong secret is caught by the verifier and reported as 403, without S3 details', async () => {
    const response = await fetch(`${proxy.url}/broken/hello.txt`)
    expect(response.status).toBe(403)
    expect(s3.requests[0]?.signature).toBe('invalid')
    const text = await response.text()
    expect(text).not.toMatch(/SignatureDoesNotMatch|TESTS3REQUESTID|<Error>/)
    expect(response.headers.get('x-amz-request-id')).toBeNull()
  })
})

describe('objects, headers, ranges and conditionals', () => {
  it('GET streams the object with its headers', async () => {
    const response = await fetch(`${proxy.url}/assets/hello.txt`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('hello world')
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(response.headers.get('content-length')).toBe('11')
    expect(response.headers.get('cache-control')).toBe('max-age=60')
    expect(response.headers.get('content-disposition')).toBe('inline; filename="hello.txt"')
    expect(response.headers.get('content-language')).toBe('en')
    expect(response.headers.get('x-amz-meta-author')).toBe('ada')
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]+"$/)
    expect(response.headers.get('last-modified')).toBeTruthy()
    expect(response.headers.get('accept-ranges')).toBe('bytes')
    expect(response.headers.get('x-request-id')).toBeTruthy()
    expect(response.headers.get('x-amz-request-id')).toBeNull()
  })

  it('HEAD goes to S3 as HEAD and answers headers only', async () => {
    const response = await fetch(`${proxy.url}/assets/hello.txt`, { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-length')).toBe('11')
    expect(await response.text()).toBe('')
    expect(s3.requests[0]?.method).toBe('HEAD')
  })

  it.each([
    ['bytes=0-4', 206, 'hello', 'bytes 0-4/11'],
    ['bytes=6-', 206, 'world', 'bytes 6-10/11'],
    ['bytes=0-', 206, 'hello world', 'bytes 0-10/11'],
    ['bytes=-5', 206, 'world', 'bytes 6-10/11'],
    ['bytes=-50', 206, 'hello world', 'bytes 0-10/11'],
  ])('Range %s → %i', async (range, status, body, contentRange) => {
    const response = await fetch(`${proxy.url}/assets/hello.txt`, { headers: { Range: range } })
    expect(response.status).toBe(status)
    expect(response.headers.get('content-range')).toBe(contentRange)
    expect(await response.text()).toBe(body)
    expect(s3.requests[0]?.headers.range).toBe(range)
  })

  it('an unsatisfiable range is a JSON 416', async () => {
    const response = await fetch(`${proxy.url}/assets/hello.txt`, { headers: { Range: 'bytes=100-200' } })
    expect(response.status).toBe(416)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('RangeNotSatisfiable')
  })

  it('If-None-Match with the current ETag is 304', async () => {
    const etag = (await fetch(`${proxy.url}/assets/hello.txt`)).headers.get('etag')!
    const response = await fetch(`${proxy.url}/assets/hello.txt`, { headers: { 'If-None-Match': etag } })
    expect(response.status).toBe(304)
    expect(s3.requests[1]?.headers['if-none-match']).toBe(etag)
  })

  it('a missing object is a JSON 404 with nothing of S3 in it', async () => {
    const response = await fetch(`${proxy.url}/assets/missing.txt`)
    expect(response.status).toBe(404)
    const body = (await response.json()) as { error: { status: number; code: string; requestId: string } }
    expect(body.error).toMatchObject({ status: 404, code: 'NotFound' })
    expect(body.error.requestId).toBe(response.headers.get('x-request-id'))
    expect(JSON.stringify(body)).not.toMatch(/NoSuchKey|assets|127\.0\.0\.1/)
  })

  it('a pre-compressed object arrives byte-exact with its Content-Encoding (Node adapter)', async () => {
    const raw = await new Promise<Buffer>((resolve) => {
      http.get(`${proxy.url}/assets/page.html.gz`, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip')
        const parts: Buffer[] = []
        res.on('data', (c: Buffer) => parts.push(c))
        res.on('end', () => resolve(Buffer.concat(parts)))
      })
    })
    expect(raw.equals(gzipSync('<p>compressed</p>'.repeat(100)))).toBe(true)
    expect(raw.length).toBe(Number((await fetch(`${proxy.url}/assets/page.html.gz`, { method: 'HEAD' })).headers.get('content-length')))
  })
})

describe('streaming', () => {
  it('streams a 64 MB object byte-exact', async () => {
    const hash = createHash('sha256')
    let received = 0
    await new Promise<void>((resolve, reject) => {
      http.get(`${proxy.url}/assets/big.bin`, (res) => {
        expect(res.headers['content-length']).toBe(String(BIG))
        res.on('data', (chunk: Buffer) => {
          received += chunk.length
          hash.update(chunk)
        })
        res.on('end', resolve)
        res.on('error', reject)
      })
    })
    expect(received).toBe(BIG)
    expect(hash.digest('hex')).toBe(bigDigest)
  })

  it('the first bytes of a slowly sent object reach the client long before the end', async () => {
    const response = await fetch(`${proxy.url}/assets/slow.bin`)
    const reader = response.body!.getReader()
    const first = await reader.read()
    expect(first.value?.length).toBeGreaterThan(0)
    // When the client has its first bytes, S3 has sent only a small part of the object.
    expect(s3.requests[0]!.bytesSent).toBeLessThan(SLOW_SIZE / 4)
    const s3Done = s3.requests[0]!.done
    let total = first.value!.length
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.length
    }
    expect(total).toBe(SLOW_SIZE)
    expect(await s3Done).toEqual({ completed: true, bytesSent: SLOW_SIZE })
  })

  it('aborting the request signal stops the S3 transfer (plain Request)', async () => {
    const abort = new AbortController()
    const response = await handler(new Request('http://proxy.test/assets/slow.bin', { signal: abort.signal }))
    const reader = response.body!.getReader()
    await reader.read()
    abort.abort()
    // Stopped, not finished: an unstopped transfer would complete with every byte sent.
    const result = await s3.requests[0]!.done
    expect(result.completed).toBe(false)
    expect(result.bytesSent).toBeLessThan(SLOW_SIZE / 2)
  })

  it('a real HTTP client leaving the Node adapter stops the S3 transfer', async () => {
    await new Promise<void>((resolve) => {
      const req = http.get(`${proxy.url}/assets/slow.bin`, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => {})
    })
    // Stopped, not finished: an unstopped transfer would complete with every byte sent.
    const result = await s3.requests[0]!.done
    expect(result.completed).toBe(false)
    expect(result.bytesSent).toBeLessThan(SLOW_SIZE / 2)
  })
})

describe('hostile requests never reach S3', () => {
  async function rawStatus(target: string, method = 'GET'): Promise<number> {
    const port = Number(new URL(proxy.url).port)
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? '' : 'Content-Length: 0\r\n'}\r\n`)
      })
      let head = ''
      socket.on('data', (chunk) => (head += chunk.toString('latin1')))
      socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])))
      socket.on('error', reject)
    })
  }

  it.each([
    '/assets/..%2Feu-assets/hello.txt',
    '/assets/%2E%2E/eu/hello.txt',
    '/assets/%2e%2e%2fhello.txt',
    '/assets/../eu/hello.txt',
    '/assets/./hello.txt',
    '/assets/%252E%252E/hello.txt',
    '/assets/hello%00.txt',
    '/assets/%C0%AE%C0%AE/hello.txt',
    '/assets/%FF.txt',
  ])('traversal %s → 400', async (target) => {
    expect(await rawStatus(target)).toBe(400)
    expect(s3.requests).toHaveLength(0)
  })

  it.each(['/assets', '/assets/', '/assets?list-type=2', '/assets/?list-type=2', '/assets?uploads', '/nope/hello.txt', '/'])(
    'listing or unknown path %s → 404',
    async (target) => {
      expect(await rawStatus(target)).toBe(404)
      expect(s3.requests).toHaveLength(0)
    },
  )

  it.each(['?acl', '?list-type=2', '?uploads', '?tagging', '?versionId=1&X-Amz-Signature=x'])(
    'sub-resource query %s is dropped: only the object itself is fetched',
    async (query) => {
      const response = await fetch(`${proxy.url}/assets/hello.txt${query}`)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('hello world')
      expect(s3.requests.map((r) => [r.method, r.rawPath, r.rawQuery])).toEqual([['GET', '/assets/hello.txt', '']])
    },
  )

  it.each(['PUT', 'POST', 'DELETE', 'PATCH'])('%s → 405', async (method) => {
    expect(await rawStatus('/assets/hello.txt', method)).toBe(405)
    expect(s3.requests).toHaveLength(0)
  })

  it('client credentials and cookies never reach S3', async () => {
    await fetch(`${proxy.url}/assets/hello.txt?token=abc`, {
      headers: { Authorization: 'Bearer secret-token', Cookie: 'sid=1', 'X-Auth-Token': 'tok', 'X-Amz-Security-Token': 'injected' },
    })
    const sent = s3.requests[0]!
    expect(sent.signature).toBe('valid')
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /)
    expect(sent.headers.cookie).toBeUndefined()
    expect(sent.headers['x-auth-token']).toBeUndefined()
    expect(sent.headers['x-amz-security-token']).toBeUndefined()
    expect(sent.rawQuery).toBe('')
  })
})
