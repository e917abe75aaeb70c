/**
 * Connection limits of `serve()` (yatagarasu/node) over real sockets: a slow sender is
 * closed, requests beyond the concurrency limit get 503 without reaching the handler,
 * idle keep-alive connections are closed, and a connection serves at most N requests.
 */
import http from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { serve, SERVER_LIMIT_DEFAULTS, type NodeServer, type ServeOptions } from '../../src/adapters/node.js'
import { parseConfig } from '../../src/config/parse.js'
import type { FetchHandler } from '../../src/context.js'
import { ConfigError } from '../../src/errors.js'
import { startServer, type RunningServer } from '../../src/server/server.js'
import { checkServerBlocks, resolveServerSettings, serverBlocks } from '../../src/server/settings.js'
import { tempDir } from '../support/cli.js'
import { rawRequest } from '../support/raw-http.js'
import { startTestS3, TEST_CREDENTIALS } from '../support/test-s3.js'

let server: NodeServer | undefined
afterEach(async () => {
  server?.server.closeAllConnections()
  await server?.close()
  server = undefined
})

async function start(handler: FetchHandler, options: ServeOptions = {}): Promise<string> {
  server = await serve(handler, { port: 0, ...options })
  return server.url
}

const ok: FetchHandler = async () => new Response('ok', { headers: { 'content-length': '2' } })

/** A connection that collects what the server sends and resolves `closed` when the server ends it. */
function connect(url: string): Promise<{ socket: net.Socket; received: () => string; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    let text = ''
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1')
    const closed = new Promise<string>((done) => socket.once('close', () => done(text)))
    socket.on('data', (data) => (text += data.toString('latin1')))
    socket.once('error', reject)
    socket.once('connect', () => resolve({ socket, received: () => text, closed }))
  })
}

/** Resolves once `text()` holds `count` complete responses (heads ending in a blank line and a 2-byte body). */
async function responses(socket: net.Socket, text: () => string, count: number): Promise<string[]> {
  const split = () => text().split(/(?=HTTP\/1\.1 )/).filter((part) => part.endsWith('\r\n\r\nok'))
  while (split().length < count) await new Promise((resolve) => socket.once('data', resolve))
  return split()
}

describe('serve(): server limits', () => {
  it('has the documented defaults', () => {
    expect(SERVER_LIMIT_DEFAULTS).toEqual({ requestTimeout: 60, maxConcurrentRequests: 5000, keepAliveTimeout: 5, maxRequestsPerSocket: 0 })
  })

  it('applies the defaults and the options to the http.Server', async () => {
    await start(ok)
    expect(server!.server).toMatchObject({ requestTimeout: 60_000, headersTimeout: 60_000, keepAliveTimeout: 5000, maxRequestsPerSocket: 0 })
    await server!.close()
    await start(ok, { requestTimeout: 1.5, keepAliveTimeout: 2, maxRequestsPerSocket: 7 })
    expect(server!.server).toMatchObject({ requestTimeout: 1500, headersTimeout: 1500, keepAliveTimeout: 2000, maxRequestsPerSocket: 7 })
  })

  it('refuses limits that make no sense, naming the option', async () => {
    await expect(serve(ok, { requestTimeout: 0 })).rejects.toThrow(/requestTimeout/)
    await expect(serve(ok, { keepAliveTimeout: -1 })).rejects.toThrow(/keepAliveTimeout/)
    await expect(serve(ok, { maxConcurrentRequests: 1.5 })).rejects.toThrow(/maxConcurrentRequests/)
    await expect(serve(ok, { maxRequestsPerSocket: Number.NaN })).rejects.toThrow(/maxRequestsPerSocket/)
  })

  it('closes a sender whose request head does not arrive within requestTimeout (408)', async () => {
    let called = 0
    const url = await start(async () => {
      called++
      return new Response('ok')
    }, { requestTimeout: 0.3 })
    const { socket, closed } = await connect(url)
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n') // ...and the rest never comes
    expect(await closed).toMatch(/^HTTP\/1\.1 408 /)
    expect(called).toBe(0)
  })

  it('answers 503 with Retry-After and a JSON error beyond maxConcurrentRequests, without calling the handler', async () => {
    const release: Array<() => void> = []
    let calls = 0
    const url = await start(async () => {
      calls++
      await new Promise<void>((resolve) => release.push(resolve))
      return new Response('ok')
    }, { maxConcurrentRequests: 2 })
    const first = rawRequest(`${url}/a`)
    const second = rawRequest(`${url}/b`)
    while (calls < 2) await new Promise((resolve) => setImmediate(resolve))

    const refused = await rawRequest(`${url}/c`)
    expect(refused.status).toBe(503)
    expect(refused.headers['retry-after']).toBe('1')
    expect(refused.headers['content-type']).toMatch(/^application\/json/)
    const body = JSON.parse(refused.body.toString())
    expect(body).toEqual({ error: { status: 503, code: 'ServiceUnavailable', message: expect.any(String), requestId: refused.headers['x-request-id'] } })
    expect(calls).toBe(2)

    for (const done of release) done()
    expect((await first).status).toBe(200)
    expect((await second).status).toBe(200)
    const after = rawRequest(`${url}/d`)
    while (calls < 3) await new Promise((resolve) => setImmediate(resolve))
    release[2]!()
    expect((await after).status).toBe(200)
  })

  it('hands a request refused beyond maxConcurrentRequests to `busy` instead of the handler', async () => {
    const release: Array<() => void> = []
    let calls = 0
    const refusedPaths: string[] = []
    const url = await start(
      async () => {
        calls++
        await new Promise<void>((resolve) => release.push(resolve))
        return new Response('ok')
      },
      {
        maxConcurrentRequests: 1,
        busy: async (request, context) => {
          refusedPaths.push(`${request.method} ${context?.rawPath}`)
          return new Response('busy', { status: 503, headers: { 'retry-after': '2' } })
        },
      },
    )
    const first = rawRequest(`${url}/a`)
    while (calls < 1) await new Promise((resolve) => setImmediate(resolve))

    const refused = await rawRequest(`${url}/b?x=1`)
    expect(refused.status).toBe(503)
    expect(refused.headers['retry-after']).toBe('2')
    expect(refused.body.toString()).toBe('busy')
    expect(refusedPaths).toEqual(['GET /b?x=1'])
    expect(calls).toBe(1)
    release[0]!()
    expect((await first).status).toBe(200)
  })

  it('closes an idle keep-alive connection after keepAliveTimeout, and says so in Keep-Alive', async () => {
    const url = await start(ok, { keepAliveTimeout: 1 })
    const { socket, received, closed } = await connect(url)
    socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n')
    const [response] = await responses(socket, received, 1)
    expect(response).toMatch(/^HTTP\/1\.1 200 /)
    expect(response).toMatch(/\r\nKeep-Alive: timeout=1\r\n/i)
    expect(response).not.toMatch(/\r\nConnection: close\r\n/i)
    await closed // the server ends the idle connection; the client never does
  })

  it('closes a connection after maxRequestsPerSocket requests', async () => {
    const url = await start(ok, { maxRequestsPerSocket: 2 })
    const { socket, received, closed } = await connect(url)
    socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n')
    const [first] = await responses(socket, received, 1)
    expect(first).not.toMatch(/\r\nConnection: close\r\n/i)
    socket.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n')
    const [, second] = await responses(socket, received, 2)
    expect(second).toMatch(/^HTTP\/1\.1 200 /)
    expect(second).toMatch(/\r\nConnection: close\r\n/i)
    await closed
  })
})

describe('the standalone server: the `server` block', () => {
  const S3_BLOCK = `\n    s3: { bucket: assets, region: us-east-1, endpoint: "\${S3_ENDPOINT}", access_key: AK, secret_key: SK }\n`

  it('reads request_timeout, max_concurrent_requests, keepalive_timeout, max_requests_per_socket, with defaults', () => {
    const parse = (text: string) => resolveServerSettings(parseConfig(text, { S3_ENDPOINT: 'http://s3.test' }, { blocks: serverBlocks, check: checkServerBlocks, onWarning: (w) => expect.unreachable(w.path) }))
    expect(parse(`buckets:\n  - name: a\n    path_prefix: /a${S3_BLOCK}`).limits).toEqual(SERVER_LIMIT_DEFAULTS)
    const text = `server:\n  request_timeout: 2.5\n  max_concurrent_requests: 10\n  keepalive_timeout: 1\n  max_requests_per_socket: 100\nbuckets:\n  - name: a\n    path_prefix: /a${S3_BLOCK}`
    expect(parse(text).limits).toEqual({ requestTimeout: 2.5, maxConcurrentRequests: 10, keepAliveTimeout: 1, maxRequestsPerSocket: 100 })
  })

  it('refuses values that make no sense, with path and line', () => {
    const text = `server:\n  request_timeout: 0\n  max_concurrent_requests: 0\n  keepalive_timeout: -1\n  max_requests_per_socket: 1.5\nbuckets:\n  - name: a\n    path_prefix: /a${S3_BLOCK}`
    let error: unknown
    try {
      parseConfig(text, { S3_ENDPOINT: 'http://s3.test' }, { blocks: serverBlocks, check: checkServerBlocks, onWarning: () => {} })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).issues.map((issue) => [issue.path, issue.line])).toEqual([
      ['server.request_timeout', 2],
      ['server.max_concurrent_requests', 3],
      ['server.keepalive_timeout', 4],
      ['server.max_requests_per_socket', 5],
    ])
  })

  it('beyond max_concurrent_requests answers 503 + Retry-After as JSON, and nothing reaches S3', async () => {
    const s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }] })
    const files = tempDir()
    let running: RunningServer | undefined
    let slow: http.ClientRequest | undefined
    try {
      await s3.put('assets', 'big.bin', new Uint8Array(8 * 1024 * 1024))
      await s3.put('assets', 'hello.txt', 'hello')
      const config = files.write(
        'limits.yaml',
        `server:\n  address: "127.0.0.1:0"\n  max_concurrent_requests: 1\nmetrics:\n  port: 0\nbuckets:\n  - name: a\n    path_prefix: /a\n    s3: { bucket: assets, region: us-east-1, endpoint: "${s3.endpoint}", access_key: ${TEST_CREDENTIALS.accessKeyId}, secret_key: ${TEST_CREDENTIALS.secretAccessKey} }\n`,
      )
      const logs: Array<Record<string, unknown>> = []
      running = await startServer({ configPath: config, write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) })
      // A download the client does not read: it stays in flight until the client leaves.
      const started = new Promise<http.IncomingMessage>((resolve, reject) => {
        slow = http.get(`${running!.url}/a/big.bin`, { agent: false }, resolve).once('error', () => {})
        slow.once('error', reject)
      })
      const first = await started
      first.pause()
      expect(first.statusCode).toBe(200)
      expect(s3.requests).toHaveLength(1)

      const refused = await rawRequest(`${running.url}/a/hello.txt`)
      expect(refused.status).toBe(503)
      expect(refused.headers['retry-after']).toBe('1')
      expect(JSON.parse(refused.body.toString()).error).toMatchObject({ status: 503, code: 'ServiceUnavailable', requestId: refused.headers['x-request-id'] })
      expect(s3.requests).toHaveLength(1)

      // The refusal is logged once, with the fields of any request line, and counted.
      expect(logs.filter((line) => line.message === 'request' && line.status === 503)).toEqual([
        {
          time: expect.any(String),
          level: 'info',
          message: 'request',
          requestId: refused.headers['x-request-id'],
          method: 'GET',
          path: '/a/hello.txt',
          status: 503,
          bytes: Number(refused.headers['content-length']),
          durationMs: expect.any(Number),
          clientIp: '127.0.0.1',
          outcome: 'completed',
        },
      ])
      const scrape = await rawRequest(running.metricsUrl!)
      expect(scrape.body.toString()).toMatch(/^yatagarasu_http_requests_total\{bucket="",method="GET",status="503"\} 1$/m)
    } finally {
      slow?.destroy()
      running?.forceClose()
      await running?.shutdown()
      await s3.close()
      files.cleanup()
    }
  })
})
