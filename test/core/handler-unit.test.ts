/**
 * The handler with plain Request objects, S3 intercepted at the fetch level by msw.
 * (Real-S3 behaviour — signatures, encodings, streaming — is in the integration tests.)
 */
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createYatagarasu, type YatagarasuConfig } from '../../src/index.js'
import { nextTurn } from '../support/wait.js'

const ENDPOINT = 'http://s3.test'
const SECRET = 'test-secret-key-never-leaks'
const config: YatagarasuConfig = {
  buckets: [
    {
      name: 'cdn',
      pathPrefix: '/cdn',
      s3: { bucket: 'assets', region: 'eu-west-1', endpoint: ENDPOINT, accessKey: 'AKIDTEST', secretKey: SECRET },
    },
    {
      name: 'aws',
      pathPrefix: '/aws',
      s3: { bucket: 'my-bucket', region: 'ap-northeast-1', accessKey: 'AKIDTEST', secretKey: SECRET, sessionToken: 'SESSION' },
    },
    {
      name: 'dotted',
      pathPrefix: '/dotted',
      s3: { bucket: 'my.dotted.bucket', region: 'us-west-2', accessKey: 'AKIDTEST', secretKey: SECRET },
    },
  ],
}

const seen: Request[] = []
let reply: (request: Request) => Response = () => new HttpResponse('hello', { headers: { 'Content-Type': 'text/plain' } })
const server = setupServer(
  http.all('*', ({ request }) => {
    seen.push(request.clone())
    return reply(request)
  }),
)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  seen.length = 0
})
afterEach(() => {
  reply = () => new HttpResponse('hello', { headers: { 'Content-Type': 'text/plain' } })
})

const handler = createYatagarasu(config)
const get = (path: string, init?: RequestInit) => handler(new Request(`http://proxy.test${path}`, init))

async function errorBody(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  return ((await response.json()) as { error: { status: number; code: string; message: string; requestId: string } }).error
}

describe('requests to S3', () => {
  it('uses path-style URLs with a custom endpoint, keys encoded per segment', async () => {
    const response = await get('/cdn/dir/a%20b+c(1).txt')
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('hello')
    expect(seen[0]?.url).toBe(`${ENDPOINT}/assets/dir/a%20b%2Bc%281%29.txt`)
  })

  it('uses virtual-hosted URLs on AWS, and path-style for dotted bucket names', async () => {
    await get('/aws/k.txt')
    await get('/dotted/k.txt')
    expect(seen[0]?.url).toBe('https://my-bucket.s3.ap-northeast-1.amazonaws.com/k.txt')
    expect(seen[1]?.url).toBe('https://s3.us-west-2.amazonaws.com/my.dotted.bucket/k.txt')
  })

  it('signs with the bucket region and session token', async () => {
    await get('/aws/k.txt')
    const headers = seen[0]!.headers
    expect(headers.get('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/ap-northeast-1\/s3\/aws4_request, /)
    expect(headers.get('x-amz-security-token')).toBe('SESSION')
    expect(headers.get('x-amz-content-sha256')).toBe('UNSIGNED-PAYLOAD')
  })

  it('forwards only range and conditional headers, never credentials or the query string', async () => {
    await get('/cdn/k.txt?list-type=2&acl&token=abc&X-Amz-Credential=x', {
      headers: {
        Authorization: 'Bearer client-token',
        Cookie: 'session=1',
        'X-Auth-Token': 'tok',
        'X-Amz-Security-Token': 'client-injected',
        Range: 'bytes=0-9',
        'If-Range': '"etag"',
        'If-None-Match': '"a"',
        'If-Modified-Since': 'Wed, 21 Oct 2015 07:28:00 GMT',
        'If-Match': '"b"',
        'If-Unmodified-Since': 'Wed, 21 Oct 2015 07:28:00 GMT',
        'Accept-Encoding': 'gzip',
        'X-Forwarded-For': '1.2.3.4',
      },
    })
    const sent = seen[0]!
    expect(new URL(sent.url).search).toBe('')
    const names = [...sent.headers.keys()].sort()
    expect(names).toEqual(
      [
        'accept-encoding',
        'authorization',
        'if-match',
        'if-modified-since',
        'if-none-match',
        'if-range',
        'if-unmodified-since',
        'range',
        'x-amz-content-sha256',
        'x-amz-date',
      ].sort(),
    )
    expect(sent.headers.get('authorization')).toMatch(/^AWS4-HMAC-SHA256 /)
    expect(sent.headers.get('range')).toBe('bytes=0-9')
    // Not the client's `gzip`: the proxy always asks for the stored bytes as they are.
    expect(sent.headers.get('accept-encoding')).toBe('identity')
  })

  it('sends HEAD as HEAD', async () => {
    reply = () => new HttpResponse(null, { headers: { 'Content-Length': '5', 'Content-Type': 'text/plain' } })
    const response = await get('/cdn/k.txt', { method: 'HEAD' })
    expect(seen[0]?.method).toBe('HEAD')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-length')).toBe('5')
    expect(response.body).toBeNull()
  })
})

describe('responses to the client', () => {
  it('passes object headers, adds Accept-Ranges and X-Request-ID, drops S3 internals', async () => {
    reply = () =>
      new HttpResponse('data', {
        headers: {
          'Content-Type': 'image/png',
          'Content-Length': '4',
          ETag: '"abc"',
          'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT',
          'Cache-Control': 'max-age=60',
          'Content-Encoding': 'gzip',
          'Content-Disposition': 'inline',
          'Content-Language': 'en',
          Expires: 'Thu, 01 Dec 2030 16:00:00 GMT',
          'x-amz-meta-author': 'ada',
          'x-amz-request-id': 'REQ123',
          'x-amz-id-2': 'HOSTID',
          'x-amz-version-id': 'v1',
          'x-amz-server-side-encryption': 'AES256',
          Server: 'AmazonS3',
          'Set-Cookie': 'x=1',
        },
      })
    const response = await get('/cdn/logo.png')
    const names = [...response.headers.keys()].sort()
    expect(names).toEqual(
      [
        'accept-ranges',
        'cache-control',
        'content-disposition',
        'content-encoding',
        'content-language',
        'content-length',
        'content-type',
        'etag',
        'expires',
        'last-modified',
        'x-amz-meta-author',
        'x-cache', // BYPASS: this bucket has no cache (the contract: X-Cache on every proxied response)
        'x-request-id',
      ].sort(),
    )
    expect(response.headers.get('accept-ranges')).toBe('bytes')
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('keeps a sane incoming X-Request-ID and replaces a hostile one', async () => {
    expect((await get('/cdn/k', { headers: { 'X-Request-ID': 'lb-1234.abc' } })).headers.get('x-request-id')).toBe('lb-1234.abc')
    const hostile = await get('/cdn/k', { headers: { 'X-Request-ID': 'a b\tinjected' } })
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it.each([
    [206, 206],
    [304, 304],
  ])('passes S3 %i through', async (s3Status, status) => {
    reply = () => new HttpResponse(s3Status === 304 ? null : 'part', { status: s3Status, headers: { ETag: '"e"' } })
    const response = await get('/cdn/k')
    expect(response.status).toBe(status)
    expect(response.headers.get('etag')).toBe('"e"')
  })

  it.each([
    [404, 404, 'NotFound'],
    [403, 403, 'Forbidden'],
    [412, 412, 'PreconditionFailed'],
    [416, 416, 'RangeNotSatisfiable'],
    [500, 502, 'BadGateway'],
    [503, 502, 'BadGateway'],
    [400, 502, 'BadGateway'],
    [301, 502, 'BadGateway'],
  ])('maps S3 %i to a JSON %i without S3 details', async (s3Status, status, code) => {
    reply = () =>
      new HttpResponse(
        `<?xml version="1.0"?><Error><Code>X</Code><Message>bucket assets at ${ENDPOINT}</Message><RequestId>REQ123</RequestId></Error>`,
        { status: s3Status, headers: { 'Content-Type': 'application/xml', 'x-amz-request-id': 'REQ123', 'Content-Range': 'bytes */10' } },
      )
    const response = await get('/cdn/k', { headers: { 'X-Request-ID': 'rid-1' } })
    expect(response.status).toBe(status)
    const text = await response.clone().text()
    for (const leak of ['REQ123', 'assets', 's3.test', '<?xml', 'Error>']) expect(text).not.toContain(leak)
    expect(response.headers.get('x-amz-request-id')).toBeNull()
    expect(await errorBody(response)).toMatchObject({ status, code, requestId: 'rid-1' })
    if (status === 416) expect(response.headers.get('content-range')).toBe('bytes */10')
  })

  it('answers 502 when S3 cannot be reached', async () => {
    reply = () => HttpResponse.error()
    const response = await get('/cdn/k')
    expect(response.status).toBe(502)
    expect((await errorBody(response)).message).not.toContain('s3.test')
  })

  it('answers 504 when S3 does not send headers in time', async () => {
    const slow = createYatagarasu({
      buckets: [{ ...config.buckets[0]!, s3: { ...config.buckets[0]!.s3, timeout: 0.05 } }],
    })
    // S3 never answers: only the 50 ms header timeout can end the request.
    reply = () => new Promise<Response>(() => {}) as never
    const response = await slow(new Request('http://proxy.test/cdn/k'))
    expect(response.status).toBe(504)
    expect((await errorBody(response)).code).toBe('GatewayTimeout')
  })
})

describe('read-only safety', () => {
  it.each(['PUT', 'POST', 'DELETE', 'PATCH', 'PROPFIND'])('%s is 405 and nothing reaches S3', async (method) => {
    const response = await get('/cdn/k.txt', { method, ...(method !== 'PROPFIND' && { body: 'x' }) })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS')
    expect((await errorBody(response)).code).toBe('MethodNotAllowed')
    expect(seen).toHaveLength(0)
  })

  it('answers OPTIONS with 204 and Allow, without S3', async () => {
    const response = await get('/cdn/k.txt', { method: 'OPTIONS' })
    expect(response.status).toBe(204)
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS')
    expect(seen).toHaveLength(0)
  })

  it.each(['/nope/k', '/cdnx/k', '/cdn', '/cdn/', '/'])('%s is 404 without S3', async (path) => {
    const response = await get(path)
    expect(response.status).toBe(404)
    expect((await errorBody(response)).code).toBe('NotFound')
    expect(seen).toHaveLength(0)
  })

  it.each(['/cdn/..%2Fother', '/cdn/a%00b', '/cdn/%FF', '/cdn/%252e%252e/x'])('%s is 400 without S3', async (path) => {
    const response = await get(path)
    expect(response.status).toBe(400)
    expect((await errorBody(response)).code).toBe('BadRequest')
    expect(seen).toHaveLength(0)
  })

  it.each(['/cdn/../cdn/k', '/cdn/%2E%2E/cdn/k', '/cdn/.%2e/cdn/k', '/cdn/./k', '/cdn/%2e/k', '/cdn/a/..?x=1'])(
    'raw path %s (resolved away by URL parsing) is 400 when the adapter gives the raw path',
    async (rawPath) => {
      const response = await handler(new Request(`http://proxy.test${rawPath}`), { rawPath })
      expect(response.status).toBe(400)
      expect(seen).toHaveLength(0)
    },
  )

  it.each(['/cdn/..\\cdn\\k', '/cdn/a\\b', '/cdn/..%5ccdn%5ck', '/cdn/%2e%2e%255ck', '/cdn/k/%2E.'])(
    'raw path %s (a backslash or a dot segment under another separator) is 400 with the raw path',
    async (rawPath) => {
      const response = await handler(new Request(`http://proxy.test${rawPath}`), { rawPath })
      expect(response.status).toBe(400)
      expect((await errorBody(response)).code).toBe('BadRequest')
      expect(seen).toHaveLength(0)
    },
  )

  it("without a raw path, request.url is checked as it is (Deno and workerd keep the target as received there)", async () => {
    // What Deno.serve and workerd hand over: a Request whose url still holds the raw target.
    class ReceivedAsIs extends Request {
      constructor(private readonly raw: string) {
        super('http://proxy.test/')
      }
      override get url(): string {
        return this.raw
      }
    }
    for (const raw of ['http://proxy.test/cdn/..\\cdn\\k', 'http://proxy.test/cdn/%2e%2e/cdn/k', 'http://proxy.test/cdn/a/../k']) {
      const response = await handler(new ReceivedAsIs(raw))
      expect(response.status, raw).toBe(400)
    }
    expect(seen).toHaveLength(0)
    expect((await handler(new ReceivedAsIs('http://proxy.test/cdn/k'))).status).toBe(200)
  })

  it('a raw path with dots inside names is fine', async () => {
    const rawPath = '/cdn/a..b/.hidden/x.'
    expect((await handler(new Request(`http://proxy.test${rawPath}`), { rawPath })).status).toBe(200)
  })

  it('a HEAD error has headers but no body', async () => {
    const response = await get('/nope/k', { method: 'HEAD' })
    expect(response.status).toBe(404)
    expect(response.body).toBeNull()
  })
})

describe('streaming and cancellation (S3 body injected through the fetch option)', () => {
  function endlessObject() {
    const state = { pulled: 0, cancelled: false, signal: undefined as AbortSignal | undefined }
    const fetch = async (_url: string, init: RequestInit) => {
      state.signal = init.signal ?? undefined
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          // What a real fetch does when its signal aborts mid-body.
          init.signal?.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')))
        },
        pull(controller) {
          state.pulled++
          controller.enqueue(new Uint8Array(64 * 1024))
        },
        cancel() {
          state.cancelled = true
        },
      })
      return new Response(body, { headers: { 'Content-Type': 'video/mp4' } })
    }
    return { state, handler: createYatagarasu(config, { fetch }) }
  }

  it('hands the S3 body through as the same stream, pulled only as the client reads', async () => {
    const { state, handler } = endlessObject()
    const response = await handler(new Request('http://proxy.test/cdn/big'))
    const reader = response.body!.getReader()
    for (let i = 0; i < 3; i++) await reader.read()
    await nextTurn(20) // room for any read-ahead to happen: none may
    expect(state.pulled).toBeLessThanOrEqual(5)
    await reader.cancel()
  })

  it('aborting the request signal aborts the S3 request', async () => {
    const { state, handler } = endlessObject()
    const abort = new AbortController()
    const response = await handler(new Request('http://proxy.test/cdn/big', { signal: abort.signal }))
    const reader = response.body!.getReader()
    await reader.read()
    abort.abort()
    expect(state.signal?.aborted).toBe(true)
    await expect(reader.read()).rejects.toThrow(/aborted/)
  })

  it('cancelling the response body cancels the S3 body', async () => {
    const { state, handler } = endlessObject()
    const response = await handler(new Request('http://proxy.test/cdn/big'))
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    expect(state.cancelled).toBe(true)
  })

  it('a request already aborted never reaches S3', async () => {
    const { state, handler } = endlessObject()
    const abort = new AbortController()
    abort.abort()
    const response = await handler(new Request('http://proxy.test/cdn/big', { signal: abort.signal }))
    expect(response.status).toBe(499)
    expect(state.signal).toBeUndefined()
  })
})

describe('the handler', () => {
  it('tolerates what runtimes pass as the second argument', async () => {
    const bunServer = { fetch: () => Promise.reject(new Error('must not be called')), requestIP: () => null, port: 1 }
    expect((await handler(new Request('http://proxy.test/cdn/k'), bunServer as never)).status).toBe(200)
    expect((await handler(new Request('http://proxy.test/cdn/k'), { remoteAddr: { hostname: '1.2.3.4' } } as never)).status).toBe(200)
    expect((await handler(new Request('http://proxy.test/cdn/k'), { params: Promise.resolve({}) } as never)).status).toBe(200)
  })

  it('never throws, even when S3 misbehaves in unexpected ways', async () => {
    reply = () => {
      throw new Error('boom')
    }
    const response = await get('/cdn/k')
    expect(response.status).toBeGreaterThanOrEqual(500)
    expect(JSON.stringify(await response.json())).not.toContain(SECRET)
  })
})
