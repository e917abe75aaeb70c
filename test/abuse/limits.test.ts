/**
 * Request limits, all enforced before anything reaches S3: URL length (414), total
 * header size (431), a body on GET/HEAD (400), and S3's 1024-byte key limit (400).
 * With plain Requests, then over real HTTP through the Node adapter.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import { createYatagarasu, resolveConfig, silentLogger, type ConfigError, type YatagarasuConfig } from '../../src/index.js'

const s3 = { bucket: 'b', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' }
const config: YatagarasuConfig = { buckets: [{ name: 'a', pathPrefix: '/a', s3 }] }

function proxy(cfg: YatagarasuConfig = config) {
  const urls: string[] = []
  const handler = createYatagarasu(cfg, {
    logger: silentLogger,
    fetch: async (url) => {
      urls.push(url)
      return new Response('ok')
    },
  })
  return { handler, urls, send: (path: string, init?: RequestInit) => handler(new Request(`http://proxy.test${path}`, init)) }
}

async function code(response: Response) {
  return ((await response.json()) as { error: { code: string } }).error.code
}

describe('limits (plain Requests)', () => {
  it('a URL over 8 KiB is 414', async () => {
    const { send, urls } = proxy()
    const response = await send(`/a/x?${'q'.repeat(8 * 1024)}`)
    expect(response.status).toBe(414)
    expect(await code(response)).toBe('URITooLong')
    expect((await send(`/a/x?${'q'.repeat(8000)}`)).status).toBe(200)
    expect(urls).toHaveLength(1)
  })

  it('headers over 16 KiB in total are 431', async () => {
    const { send, urls } = proxy()
    const headers: Record<string, string> = {}
    for (let i = 0; i < 20; i++) headers[`x-filler-${i}`] = 'v'.repeat(900)
    const response = await send('/a/x', { headers })
    expect(response.status).toBe(431)
    expect(await code(response)).toBe('RequestHeaderFieldsTooLarge')
    expect((await send('/a/x', { headers: { 'x-one': 'v'.repeat(10_000) } })).status).toBe(200)
    expect(urls).toHaveLength(1)
  })

  it.each([
    ['GET', { 'content-length': '5' }],
    ['GET', { 'transfer-encoding': 'chunked' }],
    ['HEAD', { 'content-length': '1' }],
    ['GET', { 'content-length': 'abc' }],
  ])('%s announcing a body (%j) is 400', async (method, headers) => {
    const { send, urls } = proxy()
    const response = await send('/a/x', { method, headers })
    expect(response.status).toBe(400)
    expect(urls).toHaveLength(0)
  })

  it('Content-Length: 0 on a GET is fine', async () => {
    const { send } = proxy()
    expect((await send('/a/x', { headers: { 'content-length': '0' } })).status).toBe(200)
  })

  it('a key over 1024 bytes is 400 (S3 limit), exactly 1024 is served', async () => {
    const { send, urls } = proxy()
    expect((await send(`/a/${'k'.repeat(1025)}`)).status).toBe(400)
    expect((await send(`/a/${'é'.repeat(513)}`)).status).toBe(400) // 1026 UTF-8 bytes
    expect((await send(`/a/${'k'.repeat(1024)}`)).status).toBe(200)
    expect(urls).toHaveLength(1)
  })

  it('limits are configurable', async () => {
    const { send } = proxy({ ...config, limits: { maxUrlLength: 64, maxHeaderSize: '1KB' } })
    expect((await send(`/a/${'k'.repeat(80)}`)).status).toBe(414)
    expect((await send('/a/x', { headers: { 'x-big': 'v'.repeat(1100) } })).status).toBe(431)
    expect((await send('/a/x')).status).toBe(200)
    try {
      resolveConfig({ ...config, limits: { maxUrlLength: 0, maxHeaderSize: '16 parsecs' } } as never)
      expect.unreachable()
    } catch (error) {
      expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['limits.maxUrlLength', 'limits.maxHeaderSize'])
    }
    expect(resolveConfig(config).limits).toEqual({ maxUrlLength: 8192, maxHeaderSize: 16384 })
  })
})

describe('limits over HTTP (Node adapter)', () => {
  let server: NodeServer
  let urls: string[]
  beforeAll(async () => {
    const p = proxy()
    urls = p.urls
    server = await serve(p.handler)
  })
  afterAll(async () => server?.close())

  function rawExchange(request: string): Promise<string> {
    const { port } = new URL(server.url)
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(request))
      let data = ''
      socket.setEncoding('latin1')
      socket.on('data', (chunk: string) => (data += chunk))
      socket.on('end', () => resolve(data))
      socket.on('error', reject)
    })
  }

  it('a GET with a body is 400 and nothing reaches S3 (no smuggling)', async () => {
    urls.length = 0
    const reply = await rawExchange('GET /a/x HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
    expect(reply).toMatch(/^HTTP\/1\.1 400 /)
    expect(urls).toHaveLength(0)
  })

  it('a chunked HEAD is 400', async () => {
    urls.length = 0
    const reply = await rawExchange('HEAD /a/x HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n')
    expect(reply).toMatch(/^HTTP\/1\.1 400 /)
    expect(urls).toHaveLength(0)
  })

  it('a long URL is 414', async () => {
    const reply = await rawExchange(`GET /a/x?${'q'.repeat(9000)} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n`)
    expect(reply).toMatch(/^HTTP\/1\.1 414 /)
  })

  it('too many header bytes are 431 (ours, or Node’s own limit before us)', async () => {
    const filler = Array.from({ length: 20 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(900)}\r\n`).join('')
    const reply = await rawExchange(`GET /a/x HTTP/1.1\r\nHost: p\r\n${filler}Connection: close\r\n\r\n`)
    expect(reply).toMatch(/^HTTP\/1\.1 431 /)
  })
})
