/**
 * The S3 transports on Node, nodeFetch (node:http) and undiciFetch (undici's dispatcher):
 * bytes untouched (no Content-Encoding decoding, unlike Node's global fetch),
 * backpressure, abort, and truncated bodies surfacing as errors; the same through the
 * push side of their bodies (src/http/push-body.ts), which the Node adapter pipes.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pushSourceOf, type PushSink } from '../../src/http/push-body.js'
import { nodeFetch } from '../../src/s3/transports/node-http.js'
import { undiciFetch } from '../../src/s3/transports/undici.js'
import { nextTurn, until } from '../support/wait.js'

const gzipped = gzipSync(Buffer.from('hello '.repeat(1000)))
let pulledBytes = 0
/** The server's side of the last /endless request. */
let endless: http.ServerResponse | undefined
let sockets = 0
let server: http.Server
let base: string

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/gz') {
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': gzipped.length, 'X-Two': ['a', 'b'] })
      res.end(gzipped)
    } else if (req.url === '/endless') {
      pulledBytes = 0
      endless = res
      const chunk = Buffer.alloc(64 * 1024)
      const pump = () => {
        while (res.write(chunk)) pulledBytes += chunk.length
        pulledBytes += chunk.length
      }
      res.on('drain', pump)
      res.writeHead(200)
      pump()
    } else if (req.url === '/truncated') {
      res.writeHead(200, { 'Content-Length': 1000 })
      res.write(Buffer.alloc(100), () => res.destroy()) // the 100 bytes are on their way, then the hang-up
    } else if (req.url === '/echo') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ method: req.method, headers: req.headers }))
    }
  })
  server.on('connection', () => sockets++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => {
  server.closeAllConnections()
  server.close()
})

describe.each([
  ['nodeFetch', nodeFetch],
  ['undiciFetch', undiciFetch],
])('%s', (_name, nodeFetch) => {
  it('passes a gzip body through untouched, with its headers', async () => {
    const response = await nodeFetch(`${base}/gz`)
    expect(response.headers.get('content-encoding')).toBe('gzip')
    expect(response.headers.get('x-two')).toBe('a, b')
    const bytes = Buffer.from(await response.arrayBuffer())
    expect(bytes.equals(gzipped)).toBe(true)
    // Node's own fetch would have decoded it: the reason nodeFetch exists.
    const decoded = Buffer.from(await (await fetch(`${base}/gz`)).arrayBuffer())
    expect(decoded.equals(gzipped)).toBe(false)
  })

  it('sends method and headers, and keeps connections alive', async () => {
    const before = sockets
    for (let i = 0; i < 5; i++) {
      const response = await nodeFetch(`${base}/echo`, { method: 'GET', headers: { Range: 'bytes=0-1', 'X-Amz-Date': 'd' } })
      const echo = (await response.json()) as { method: string; headers: Record<string, string> }
      expect(echo.method).toBe('GET')
      expect(echo.headers.range).toBe('bytes=0-1')
      expect(echo.headers['x-amz-date']).toBe('d')
    }
    // undici may open a second connection when the next request comes before it has
    // released the first (one tick); never one per request.
    expect(sockets - before).toBeLessThanOrEqual(2)
  })

  it('reads from the socket only as fast as the consumer reads', async () => {
    const response = await nodeFetch(`${base}/endless`)
    const reader = response.body!.getReader()
    await reader.read()
    // 2,000 turns of the event loop, each with its I/O callbacks, not an amount of time: a
    // reader taking one chunk per turn pulls ~60 MB from this server in as many turns
    // (measured on loopback, both transports); one reading ahead would pull at least that.
    await nextTurn(2_000)
    // Kernel socket buffers hold a few MB at most; without backpressure this would be unbounded.
    expect(pulledBytes).toBeLessThan(16 * 1024 * 1024)
    await reader.cancel()
  })

  it('aborting the signal tears the body down', async () => {
    const abort = new AbortController()
    const response = await nodeFetch(`${base}/endless`, { signal: abort.signal })
    const reader = response.body!.getReader()
    await reader.read()
    abort.abort()
    await expect(async () => {
      for (;;) if ((await reader.read()).done) break
    }).rejects.toThrow()
  })

  it('a connection that closes early is an error, not a clean end', async () => {
    const response = await nodeFetch(`${base}/truncated`)
    await expect(response.arrayBuffer()).rejects.toThrow()
  })

  it('cancelling the body stops the transfer and closes its connection', async () => {
    const response = await nodeFetch(`${base}/endless`)
    const reader = response.body!.getReader()
    await reader.read()
    const sending = endless!
    expect(sending.closed).toBe(false)
    await reader.cancel()
    // The server sees its connection close: the transfer is over, not just paused.
    if (!sending.closed) await new Promise((resolve) => sending.once('close', resolve))
    expect(sending.writableFinished).toBe(false)
  })

  it('a refused connection rejects like fetch does', async () => {
    await expect(nodeFetch('http://127.0.0.1:9/x')).rejects.toThrow(TypeError)
  })

  it('pushes the body untouched, the whole of it, then ends', async () => {
    const response = await nodeFetch(`${base}/gz`)
    const { sink, got, finished } = pushSink()
    expect(pushSourceOf(response.body)!.push(sink)).toBeDefined()
    expect(await finished).toBe('end')
    expect(Buffer.concat(got.chunks).equals(gzipped)).toBe(true)
  })

  it('pushes nothing more while the sink is full; resumed, it pushes again', async () => {
    const response = await nodeFetch(`${base}/endless`)
    const { sink, got } = pushSink()
    got.room = false
    const control = pushSourceOf(response.body)!.push(sink)!
    await until(() => got.chunks.length > 0, 'a first chunk')
    await nextTurn(2_000) // event-loop turns with their I/O, not time: room for any push that should not come
    // One chunk, then a pause: the kernel's socket buffers hold a few MB at most.
    expect(got.chunks.length).toBe(1)
    expect(pulledBytes).toBeLessThan(16 * 1024 * 1024)
    control.resume()
    await until(() => got.chunks.length > 1, 'more chunks')
    control.cancel()
  })

  it('a cancelled push stops the transfer and closes its connection', async () => {
    const response = await nodeFetch(`${base}/endless`)
    const { sink, got } = pushSink()
    const control = pushSourceOf(response.body)!.push(sink)!
    await until(() => got.chunks.length > 0, 'a first chunk')
    const sending = endless!
    control.cancel()
    if (!sending.closed) await new Promise((resolve) => sending.once('close', resolve))
    expect(sending.writableFinished).toBe(false)
    expect(got.ended).toBe(false)
  })

  it('a connection that closes early errors the push, never ends it', async () => {
    const response = await nodeFetch(`${base}/truncated`)
    const { sink, finished } = pushSink()
    pushSourceOf(response.body)!.push(sink)
    expect(await finished).toBe('error')
  })

  it('a body whose stream was read is not pushed; one pushed is pushed once', async () => {
    const read = await nodeFetch(`${base}/gz`)
    const reader = read.body!.getReader()
    await reader.read()
    reader.releaseLock()
    expect(pushSourceOf(read.body)!.push(pushSink().sink)).toBeUndefined()
    await read.body!.cancel()
    const pushed = await nodeFetch(`${base}/gz`)
    const first = pushSink()
    expect(pushSourceOf(pushed.body)!.push(first.sink)).toBeDefined()
    expect(pushSourceOf(pushed.body)!.push(pushSink().sink)).toBeUndefined()
    expect(await first.finished).toBe('end')
  })

  it('HEAD has no body', async () => {
    const response = await nodeFetch(`${base}/gz`, { method: 'HEAD' })
    expect(response.body).toBeNull()
    expect(response.headers.get('content-length')).toBe(String(gzipped.length))
  })
})

/** A sink recording the pushed chunks; `room` is what write() answers; `finished` settles on end or error. */
function pushSink() {
  const got = { chunks: [] as Buffer[], ended: false, room: true }
  let settle!: (how: 'end' | 'error') => void
  const finished = new Promise<'end' | 'error'>((resolve) => (settle = resolve))
  const sink: PushSink = {
    write: (chunk) => (got.chunks.push(Buffer.from(chunk)), got.room),
    end: () => {
      got.ended = true
      settle('end')
    },
    error: () => settle('error'),
  }
  return { sink, got, finished }
}

