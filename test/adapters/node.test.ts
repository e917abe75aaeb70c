/** The Node adapter over real sockets, with small handlers (no S3). */
import http from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import type { FetchHandler, HandlerContext } from '../../src/context.js'
import { setPushSource } from '../../src/http/push-body.js'
import { until } from '../support/wait.js'

let server: NodeServer | undefined
afterEach(async () => {
  vi.restoreAllMocks()
  await server?.close()
  server = undefined
})

async function start(handler: FetchHandler, options: Parameters<typeof serve>[1] = {}) {
  server = await serve(handler, { port: 0, ...options })
  return server.url
}

/** Timeouts no test outlives: whatever ends a connection then is close() itself, not a timer. */
const NO_TIMEOUTS = { requestTimeout: 3600, keepAliveTimeout: 3600 }

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

const MB = 1024 * 1024

interface Source {
  pulled: number
  cancelled: boolean
}

/** A pull-based body of `total` bytes (endless by default) that counts what was pulled. */
function source(state: Source, { chunkSize = 64 * 1024, total = Infinity } = {}) {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = Math.min(chunkSize, total - state.pulled)
      state.pulled += size
      controller.enqueue(new Uint8Array(size))
      if (state.pulled >= total) controller.close()
    },
    cancel() {
      state.cancelled = true
    },
  })
}

/** Sends raw bytes on one connection; resolves with everything received once the server closes it. */
function rawExchange(url: string, send: (socket: net.Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = ''
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1', () => send(socket))
    socket.on('data', (data) => (received += data.toString('latin1')))
    socket.on('close', () => resolve(received))
    socket.on('error', reject)
  })
}

/** How a download ends for the client: 'complete', 'incomplete' (closed short) or 'error'. */
function transferOutcome(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.on('data', () => {})
      res.on('error', () => resolve('error'))
      res.on('close', () => resolve(res.complete ? 'complete' : 'incomplete'))
    })
    req.on('error', () => resolve('error'))
  })
}

/** A client that stops reading once the first body bytes arrived (how many: `first`). */
function pauseAfterFirstBytes(url: string): Promise<{ res: http.IncomingMessage; first: number }> {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      res.once('data', (chunk: Buffer) => {
        res.pause()
        resolve({ res, first: chunk.length })
      })
    })
  })
}

/** Resumes a paused response and reads it to the end: the bytes read, and whether it completed. */
function readRest(res: http.IncomingMessage): Promise<{ bytes: number; complete: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0
    res.on('data', (chunk: Buffer) => (bytes += chunk.length))
    res.on('end', () => resolve({ bytes, complete: res.complete }))
    res.resume()
  })
}

/** A client that leaves (destroys its connection) as soon as the first body bytes arrive. */
function leaveAfterFirstBytes(url: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = http.get(url, (res) => {
      res.once('data', () => {
        req.destroy()
        resolve()
      })
    })
    req.on('error', () => {})
  })
}

const waitFor = (condition: () => boolean, what = 'the condition') => until(condition, what)

describe('the Node adapter: requests', () => {
  it('builds the Request: method, URL with query, headers, body; context with client IP and raw path', async () => {
    let seen: { url: string; method: string; header: string | null; body: string; context: HandlerContext | undefined } | undefined
    const url = await start(async (request, context) => {
      seen = { url: request.url, method: request.method, header: request.headers.get('x-test'), body: await request.text(), context }
      return new Response('ok')
    })
    const response = await fetch(`${url}/a/b%20c?x=1&y=2`, { method: 'POST', headers: { 'X-Test': 'v' }, body: 'payload' })
    expect(await response.text()).toBe('ok')
    expect(seen?.url).toBe(`${url}/a/b%20c?x=1&y=2`)
    expect(seen?.method).toBe('POST')
    expect(seen?.header).toBe('v')
    expect(seen?.body).toBe('payload')
    expect(seen?.context?.clientIp).toBe('127.0.0.1')
    expect(seen?.context?.rawPath).toBe('/a/b%20c?x=1&y=2')
    expect(typeof seen?.context?.waitUntil).toBe('function')
    expect(typeof seen?.context?.originFetch).toBe('function')
  })

  it('streams a large upload to the handler, keeps repeated headers, and gives GET no body', async () => {
    const seen: { method: string; size: number; multi: string | null; hasBody: boolean }[] = []
    const url = await start(async (request) => {
      let size = 0
      const reader = request.body?.getReader()
      for (let read = await reader?.read(); read && !read.done; read = await reader!.read()) size += read.value.byteLength
      seen.push({ method: request.method, size, multi: request.headers.get('x-multi'), hasBody: request.body !== null })
      return new Response(String(size))
    })
    const upload = await new Promise<string>((resolve, reject) => {
      const req = http.request(url, { method: 'PUT', headers: { 'x-multi': ['a', 'b'] } }, (res) => {
        let text = ''
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () => resolve(text))
      })
      req.on('error', reject)
      for (let i = 0; i < 8; i++) req.write(Buffer.alloc(MB, i))
      req.end()
    })
    expect(upload).toBe(String(8 * MB))
    await fetch(url).then((r) => r.text())
    expect(seen).toEqual([
      { method: 'PUT', size: 8 * MB, multi: 'a, b', hasBody: true },
      { method: 'GET', size: 0, multi: null, hasBody: false },
    ])
  })

  it('passes the raw path before URL normalisation', async () => {
    let rawPath: string | undefined
    let requestPath: string | undefined
    const url = await start(async (request, context) => {
      rawPath = context?.rawPath
      requestPath = new URL(request.url).pathname
      return new Response(null, { status: 204 })
    })
    await rawExchange(url, (socket) => socket.end('GET /cdn/%2E%2E/secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))
    expect(rawPath).toBe('/cdn/%2E%2E/secret')
    expect(requestPath).toBe('/secret')
  })

  it('a Host header cannot change the path; a non-origin-form target is refused', async () => {
    const paths: string[] = []
    const url = await start(async (request, context) => {
      paths.push(`${new URL(request.url).pathname} ${context?.rawPath}`)
      return new Response(null, { status: 204 })
    })
    const port = new URL(url).port
    await rawExchange(url, (socket) => socket.end('GET /ok HTTP/1.1\r\nHost: x/cdn/%2E%2E/secret?\r\nConnection: close\r\n\r\n'))
    await rawExchange(url, (socket) => socket.end('GET /ok HTTP/1.0\r\n\r\n'))
    expect(paths).toEqual(['/ok /ok', '/ok /ok'])
    const absolute = await rawExchange(url, (socket) =>
      socket.end(`GET http://127.0.0.1:${port}/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    )
    expect(absolute).toMatch(/^HTTP\/1.1 400 /)
    expect(paths).toHaveLength(2)
  })

  it('an upload nobody reads is discarded, and the connection still serves the next request', async () => {
    const url = await start(async (request) => new Response(request.method, { status: request.method === 'GET' ? 200 : 405 }))
    const received = await rawExchange(url, (socket) => {
      socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${4 * MB}\r\n\r\n`)
      socket.write(Buffer.alloc(4 * MB))
      socket.write('GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    })
    expect(received).toMatch(/^HTTP\/1.1 405 [\s\S]*\r\nPOST\r\n[\s\S]*HTTP\/1.1 200 [\s\S]*\r\nGET\r\n/)
  })

  it('an upload the client abandons fails the body read and aborts the signal', async () => {
    let readError: unknown
    let aborted = false
    let resolveStarted!: () => void
    const started = new Promise<void>((resolve) => (resolveStarted = resolve))
    const url = await start(async (request) => {
      request.signal.addEventListener('abort', () => (aborted = true))
      resolveStarted()
      readError = await request.text().then(
        () => 'completed',
        (error: unknown) => error,
      )
      return new Response('unreachable')
    })
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1')
    socket.on('error', () => {})
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${MB}\r\n\r\n`)
    socket.write(Buffer.alloc(1000))
    await started // the handler is reading the body
    socket.destroy()
    await waitFor(() => readError !== undefined && aborted)
    expect(readError).toBeInstanceOf(Error)
    expect(aborted).toBe(true)
  })
})

describe('the Node adapter: responses', () => {
  it('sends status, headers and every Set-Cookie', async () => {
    const url = await start(async () => {
      const headers = new Headers({ 'X-One': '1', 'Content-Type': 'text/plain' })
      headers.append('Set-Cookie', 'a=1; Path=/')
      headers.append('Set-Cookie', 'b=2, c')
      return new Response('created', { status: 201, statusText: 'Made', headers })
    })
    const response = await fetch(url)
    expect(response.status).toBe(201)
    expect(response.statusText).toBe('Made')
    expect(response.headers.get('x-one')).toBe('1')
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2, c'])
    expect(await response.text()).toBe('created')
  })

  it('HEAD: headers and Content-Length, the body is cancelled, not read', async () => {
    const state: Source = { pulled: 0, cancelled: false }
    const url = await start(async () => new Response(source(state), { headers: { 'Content-Length': '1000000' } }))
    const response = await fetch(url, { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-length')).toBe('1000000')
    expect(await response.text()).toBe('')
    await waitFor(() => state.cancelled)
    expect(state.cancelled).toBe(true)
    // At most what ReadableStream pulls on its own to fill its queue.
    expect(state.pulled).toBeLessThanOrEqual(64 * 1024)
  })

  it('a client that stops reading stops the body being pulled; resumed, it gets every byte (backpressure)', async () => {
    // Far more than socket and stream buffers hold, so the server must wait for the client.
    const total = 48 * MB
    const state: Source = { pulled: 0, cancelled: false }
    const url = await start(async () => new Response(source(state, { total }), { headers: { 'Content-Length': String(total) } }))
    // The server's side of the wait: write() said the socket is full, until 'drain'.
    let waitingForDrain = false
    let writesWhileWaiting = 0
    let pulledAtFirstWait = -1
    let pulledAtFirstDrain = -1
    const write = http.ServerResponse.prototype.write
    vi.spyOn(http.ServerResponse.prototype, 'write').mockImplementation(function (this: http.ServerResponse, ...args: unknown[]) {
      if (waitingForDrain) writesWhileWaiting++
      const ok = (write as (...a: unknown[]) => boolean).apply(this, args)
      if (!ok && !waitingForDrain) {
        waitingForDrain = true
        if (pulledAtFirstWait < 0) {
          pulledAtFirstWait = state.pulled
          this.once('drain', () => (pulledAtFirstDrain = state.pulled))
        }
        this.once('drain', () => (waitingForDrain = false))
      }
      return ok
    })
    const { res, first } = await pauseAfterFirstBytes(url)
    // The client reads nothing more until the server had to wait for the socket.
    await waitFor(() => waitingForDrain, 'the server to wait for the paused client')
    const rest = await readRest(res)
    expect(rest.complete).toBe(true)
    expect(first + rest.bytes).toBe(total)
    expect(state.pulled).toBe(total)
    expect(state.cancelled).toBe(false)
    // Socket and stream buffers hold a few MB when the socket is full; without
    // backpressure the whole body would be pulled and written at once.
    expect(pulledAtFirstWait).toBeGreaterThan(0)
    expect(pulledAtFirstWait).toBeLessThan(16 * MB)
    // While waiting: no write, and at most what refills the stream's queue is pulled.
    expect(writesWhileWaiting).toBe(0)
    expect(pulledAtFirstDrain - pulledAtFirstWait).toBeLessThanOrEqual(128 * 1024)
  })

  it('a client that leaves mid-body aborts the request signal and cancels the body at once', async () => {
    const state: Source = { pulled: 0, cancelled: false }
    let aborted = false
    const url = await start(async (request) => {
      request.signal.addEventListener('abort', () => (aborted = true))
      return new Response(source(state, { chunkSize: 1024 }))
    })
    await leaveAfterFirstBytes(url)
    await waitFor(() => aborted && state.cancelled)
    expect(aborted).toBe(true)
    // Cancelled: a ReadableStream is never pulled again after cancel(), so nothing more
    // is read from the source (S3, in the proxy).
    expect(state.cancelled).toBe(true)
  })

  it('a client that leaves before the response aborts the signal, and the late body is cancelled', async () => {
    const state: Source = { pulled: 0, cancelled: false }
    const events: string[] = []
    let entered!: () => void
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve))
    // No timeout could end the request within the test: only the client leaving can.
    const url = await start(async (request) => {
      request.signal.addEventListener('abort', () => events.push('aborted'))
      entered()
      await new Promise((resolve) => request.signal.addEventListener('abort', resolve))
      return new Response(source(state))
    }, NO_TIMEOUTS)
    const req = http.get(url)
    req.on('error', () => {})
    // Leave only once the handler is waiting: on a loaded machine a fixed sleep could
    // destroy the socket before the request was even parsed, and no handler would run.
    await handlerEntered
    events.push('client left')
    req.destroy()
    await waitFor(() => state.cancelled)
    expect(events).toEqual(['client left', 'aborted'])
    expect(state.cancelled).toBe(true)
  })

  it("a clone of the request is aborted too when the client leaves", async () => {
    let entered!: () => void
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve))
    let cloneAborted = false
    const url = await start(async (request) => {
      const copy = request.clone()
      entered()
      await new Promise((resolve) => copy.signal.addEventListener('abort', resolve))
      cloneAborted = true
      return new Response(null, { status: 204 })
    })
    const req = http.get(url)
    req.on('error', () => {})
    await handlerEntered
    req.destroy()
    await waitFor(() => cloneAborted)
    expect(cloneAborted).toBe(true)
  })

  // GET is served by the lazy request, OPTIONS by undici's built at once.
  it.each(['GET', 'OPTIONS'])('%s: a Request made from the request copies it, and follows the client too', async (method) => {
    let entered!: () => void
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve))
    let seen: { url: string; method: string; header: string | null; instance: boolean } | undefined
    let copyAborted = false
    const url = await start(async (request) => {
      const copy = new Request(request, { redirect: 'manual' })
      seen = { url: copy.url, method: copy.method, header: copy.headers.get('x-test'), instance: request instanceof Request }
      entered()
      await new Promise((resolve) => copy.signal.addEventListener('abort', resolve))
      copyAborted = true
      return new Response(null, { status: 204 })
    })
    const req = http.request(`${url}/a?b=1`, { method, headers: { 'x-test': 'v' } })
    req.on('error', () => {})
    req.end()
    await handlerEntered
    expect(seen).toEqual({ url: `${url}/a?b=1`, method, header: 'v', instance: true })
    req.destroy()
    await waitFor(() => copyAborted)
    expect(copyAborted).toBe(true)
  })

  it('a GET request answers every Request member, and fetch() accepts it', async () => {
    let seen: Record<string, unknown> | undefined
    const url = await start(async (request) => {
      if (new URL(request.url).pathname === '/echo') return new Response(request.headers.get('x-test'))
      const echoed = await fetch(new Request(request.url.replace(/\/[^/]*$/, '/echo'), request))
      seen = {
        cache: request.cache,
        redirect: request.redirect,
        bodyUsed: request.bodyUsed,
        body: request.body,
        text: await request.text(),
        tag: Object.prototype.toString.call(request),
        echoed: await echoed.text(),
      }
      return new Response('ok')
    })
    expect(await (await fetch(`${url}/x`, { headers: { 'x-test': 'v' } })).text()).toBe('ok')
    expect(seen).toEqual({ cache: 'default', redirect: 'follow', bodyUsed: false, body: null, text: '', tag: '[object Request]', echoed: 'v' })
  })

  it('a body that fails mid-way aborts the transfer (never a clean truncated response)', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    for (const headers of [{ 'Content-Length': String(1024 * 10) }, undefined]) {
      const url = await start(async () => {
        let sent = 0
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ < 3) controller.enqueue(new Uint8Array(1024))
            else controller.error(new Error('upstream reset'))
          },
        })
        return new Response(body, { headers })
      })
      expect(await transferOutcome(url)).not.toBe('complete')
      await server?.close()
      server = undefined
    }
    expect(error).not.toHaveBeenCalled()
  })

  it('a handler that throws or rejects gives a JSON 500, logged without its message', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    let sync = false
    const url = await start(((request: Request) => {
      if (new URL(request.url).pathname === '/sync') {
        sync = true
        throw new Error('sync bug with secret=abc')
      }
      return Promise.reject(new Error('bug with secret=abc'))
    }) as FetchHandler)
    for (const path of ['/async', '/sync']) {
      const response = await fetch(url + path)
      expect(response.status).toBe(500)
      expect(response.headers.get('content-type')).toContain('application/json')
      expect(await response.json()).toEqual({ error: { status: 500, code: 'InternalError', message: 'Internal error', requestId: response.headers.get('x-request-id') } })
    }
    expect(sync).toBe(true)
    expect(error).toHaveBeenCalledTimes(2)
    expect(JSON.stringify(error.mock.calls)).not.toContain('secret')
  })
  it('reports a failing handler to the logger it is given, not the console', async () => {
    const console_ = vi.spyOn(console, 'error').mockImplementation(() => {})
    const errors: [string, Record<string, unknown> | undefined][] = []
    const logger = { debug() {}, info() {}, warn() {}, error: (message: string, fields?: Record<string, unknown>) => void errors.push([message, fields]) }
    server = await serve((() => Promise.reject(new TypeError('bug with secret=abc'))) as FetchHandler, { port: 0, logger })
    expect((await fetch(server.url)).status).toBe(500)
    expect(errors).toEqual([['request failed', { error: 'TypeError' }]])
    expect(console_).not.toHaveBeenCalled()
  })

  it('a response Node cannot write (header value it refuses) gives a 500 and cancels the body', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const state: Source = { pulled: 0, cancelled: false }
    const url = await start(async () => new Response(source(state), { headers: { 'x-bad': 'a\x01b' } }))
    const response = await fetch(url)
    expect(response.status).toBe(500)
    expect(response.headers.get('x-bad')).toBeNull()
    expect((await response.json()).error.code).toBe('InternalError')
    await waitFor(() => state.cancelled)
    expect(state.cancelled).toBe(true)
  })
})

describe('the Node adapter: responses over bytes in memory (context.bytesResponse)', () => {
  const pattern = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 12)) & 255)

  it('is a Response whose body readers get copies: the bytes it was given are never altered', async () => {
    let bytesResponse!: NonNullable<HandlerContext['bytesResponse']>
    const url = await start(async (_request, context) => {
      bytesResponse = context!.bytesResponse!
      return new Response(null, { status: 204 })
    })
    await fetch(url)
    const bytes = pattern(1000)
    const response = bytesResponse(bytes, { status: 203, headers: { 'x-a': '1' } })
    expect(response).toBeInstanceOf(Response)
    expect([response.status, response.ok, response.headers.get('x-a'), response.bodyUsed]).toEqual([203, true, '1', false])
    const clone = response.clone()
    const read = new Uint8Array(await response.arrayBuffer())
    read.fill(0)
    const streamed = await clone.body!.getReader().read()
    streamed.value!.fill(0)
    expect(bytes).toEqual(pattern(1000))
    expect(response.bodyUsed).toBe(true)
  })

  it('writes the bytes themselves (no copy), at most 256 KB at a time, the next only once the socket took the last', async () => {
    const total = 8 * MB
    const bytes = pattern(total)
    const url = await start(async (_request, context) => context!.bytesResponse!(bytes, { headers: { 'content-length': String(total) } }))
    const pieces: { size: number; shared: boolean }[] = []
    let waitingForDrain = false
    let waitedForDrain = false
    let writesWhileWaiting = 0
    const original = { write: http.ServerResponse.prototype.write, end: http.ServerResponse.prototype.end }
    const record = (response: http.ServerResponse, chunk: unknown) => {
      if (!(chunk instanceof Uint8Array)) return
      if (pieces.length === 0) response.on('drain', () => (waitingForDrain = false))
      if (waitingForDrain) writesWhileWaiting++
      pieces.push({ size: chunk.byteLength, shared: chunk.buffer === bytes.buffer })
    }
    vi.spyOn(http.ServerResponse.prototype, 'write').mockImplementation(function (this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) {
      record(this, chunk)
      const ok = (original.write as (...a: unknown[]) => boolean).call(this, chunk, ...rest)
      if (!ok) waitingForDrain = waitedForDrain = true
      return ok
    })
    vi.spyOn(http.ServerResponse.prototype, 'end').mockImplementation(function (this: http.ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      record(this, chunk)
      return (original.end as (...a: unknown[]) => http.ServerResponse).call(this, chunk, ...rest)
    })
    const received: Buffer[] = []
    await new Promise<void>((resolve, reject) => {
      http.get(url, (response) => {
        response.once('data', (chunk: Buffer) => {
          received.push(chunk)
          // The client stops reading until the server had to wait for the socket.
          response.pause()
          void waitFor(() => waitingForDrain).then(() => {
            response.on('data', (more: Buffer) => received.push(more))
            response.resume()
          })
        })
        response.on('end', resolve)
        response.on('error', reject)
      })
    })
    expect(Buffer.compare(Buffer.concat(received), Buffer.from(bytes))).toBe(0)
    expect(waitedForDrain).toBe(true)
    expect(writesWhileWaiting).toBe(0)
    expect(pieces.reduce((sum, piece) => sum + piece.size, 0)).toBe(total)
    expect(pieces.every((piece) => piece.size <= 256 * 1024 && piece.shared)).toBe(true)
  })

  it('HEAD and 304: headers only', async () => {
    const url = await start(async (request, context) =>
      context!.bytesResponse!(request.headers.has('if-none-match') ? null : pattern(100), {
        status: request.headers.has('if-none-match') ? 304 : 200,
        headers: { 'content-length': '100', etag: '"e"' },
      }),
    )
    const head = await fetch(url, { method: 'HEAD' })
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '100', ''])
    const notModified = await fetch(url, { headers: { 'if-none-match': '"e"' } })
    expect([notModified.status, notModified.headers.get('etag'), await notModified.text()]).toEqual([304, '"e"', ''])
    const full = await fetch(url)
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(pattern(100))
  })
})

interface Pushed {
  pushed: number
  /** Pulls of the Web side: the adapter must never read it. */
  pulled: number
  cancelled: boolean
  /** Pushes refused because the sink was full. */
  pauses: number
}

/**
 * A body of `total` bytes with a push side (src/http/push-body.ts), as nodeFetch gives:
 * 64 KB chunks pushed while the sink has room, paused when it is full; `fail` errors it
 * after that many bytes.
 */
function pushedBody(state: Pushed, { total = Infinity, fail = Infinity } = {}) {
  const stream = new ReadableStream<Uint8Array>({ pull: () => void state.pulled++ }, { highWaterMark: 0 })
  setPushSource(stream, {
    push(sink) {
      let paused = false
      let stopped = false
      const pump = () => {
        while (!paused && !stopped) {
          if (state.pushed >= fail) return sink.error(new Error('upstream reset'))
          if (state.pushed >= total) return sink.end()
          const size = Math.min(64 * 1024, total - state.pushed)
          state.pushed += size
          if (!sink.write(new Uint8Array(size))) {
            paused = true
            state.pauses++
          }
        }
      }
      setImmediate(pump)
      return {
        resume() {
          paused = false
          setImmediate(pump)
        },
        cancel() {
          stopped = true
          state.cancelled = true
        },
      }
    },
  })
  return stream
}

describe('the Node adapter: bodies with a push side (an S3 body through nodeFetch)', () => {
  const fresh = (): Pushed => ({ pushed: 0, pulled: 0, cancelled: false, pauses: 0 })

  it('pipes the pushed chunks, never reading the Web stream; a client that stops reading pauses the source', async () => {
    const total = 48 * MB
    const state = fresh()
    const url = await start(async () => new Response(pushedBody(state, { total }), { headers: { 'Content-Length': String(total) } }))
    const { res, first } = await pauseAfterFirstBytes(url)
    await waitFor(() => state.pauses > 0, 'the source to be paused by the full socket')
    const pushedWhilePaused = state.pushed
    // Socket buffers hold a few MB; without backpressure all 48 MB would be pushed.
    expect(pushedWhilePaused).toBeLessThan(16 * MB)
    const rest = await readRest(res)
    expect(rest.complete).toBe(true)
    expect(first + rest.bytes).toBe(total)
    expect(state.pulled).toBe(0)
    expect(state.cancelled).toBe(false)
  })

  it('a client that leaves mid-body aborts the request signal and cancels the source', async () => {
    const state = fresh()
    let aborted = false
    const url = await start(async (request) => {
      request.signal.addEventListener('abort', () => (aborted = true))
      return new Response(pushedBody(state))
    })
    await leaveAfterFirstBytes(url)
    await waitFor(() => aborted && state.cancelled)
    expect(state.pulled).toBe(0)
  })

  it('a source that fails mid-way aborts the transfer (never a clean truncated response)', async () => {
    for (const headers of [{ 'Content-Length': String(1 * MB) }, undefined]) {
      const state = fresh()
      const url = await start(async () => new Response(pushedBody(state, { total: 1 * MB, fail: 256 * 1024 }), { headers }))
      expect(await transferOutcome(url)).not.toBe('complete')
      expect(state.pushed).toBe(256 * 1024)
      await server?.close()
      server = undefined
    }
  })

  it('a body without a push side (a layer that does not carry it), or whose source refuses (its stream was read), is read from its stream', async () => {
    for (const wrap of [true, false]) {
      let pushes = 0
      const url = await start(async () => {
        const body = new Response('read, not pushed').body!
        setPushSource(body, {
          push() {
            pushes++
            return undefined
          },
        })
        // As compression's pipeThrough: the stream the adapter gets has no push side.
        return new Response(wrap ? body.pipeThrough(new TransformStream()) : body)
      })
      expect(await (await fetch(url)).text()).toBe('read, not pushed')
      expect(pushes).toBe(wrap ? 0 : 1)
      await server?.close()
      server = undefined
    }
  })
})

describe('the Node adapter: close()', () => {
  // Each server here has timeouts no test outlives: a connection that ends, ends because
  // close() ended it, and close() resolving is the proof that it did not wait for them.
  it('waits for in-flight responses and waitUntil work, and does not hang on idle keep-alive sockets', async () => {
    const handlerEntered = deferred()
    const writeHead = deferred()
    const writeBody = deferred()
    const finishBackground = deferred()
    let backgroundDone = false
    const url = await start(async (request, context) => {
      if (new URL(request.url).pathname === '/slow') {
        context?.waitUntil?.(finishBackground.promise.then(() => (backgroundDone = true)))
        handlerEntered.resolve()
        await writeHead.promise // the head is written after close() began
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            await writeBody.promise
            controller.enqueue(new TextEncoder().encode('late'))
            controller.close()
          },
        })
        return new Response(body)
      }
      return new Response('quick')
    }, NO_TIMEOUTS)
    const agent = new http.Agent({ keepAlive: true })
    // A connection left idle (kept alive) by a finished request.
    const idle = await new Promise<net.Socket>((resolve) =>
      http.get(`${url}/`, { agent }, (res) => {
        const socket = res.socket
        res.resume().on('end', () => resolve(socket))
      }),
    )
    const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()))
    const slow = new Promise<{ text: string; connection: string | undefined }>((resolve) => {
      http.get(`${url}/slow`, { agent: false }, (res) => {
        let text = ''
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () => resolve({ text, connection: res.headers.connection }))
      })
    })
    await handlerEntered.promise
    let closed = false
    const closing = server!.close()
    void closing.then(() => (closed = true))
    expect(server!.close()).toBe(closing)
    server = undefined
    await idleClosed // the idle connection is closed at once, not after keepAliveTimeout
    writeHead.resolve()
    writeBody.resolve()
    // Answered in full, and told not to reuse the connection.
    expect(await slow).toEqual({ text: 'late', connection: 'close' })
    expect(closed).toBe(false) // the waitUntil work is still pending
    finishBackground.resolve()
    await closing
    expect(backgroundDone).toBe(true)
    agent.destroy()
  })

  it('does not wait for a client that never finishes its request head', async () => {
    const url = await start(async () => new Response('x'), NO_TIMEOUTS)
    const partialHead = 'GET / HTTP/1.1\r\nHost: x\r\n'
    const arrived = new Promise<net.Socket>((resolve) => server!.server.once('connection', resolve))
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1', () => socket.write(partialHead))
    socket.on('error', () => {})
    const clientSawClose = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    const serverSide = await arrived
    await waitFor(() => serverSide.bytesRead >= partialHead.length, 'the partial head to reach the server')
    await server!.close()
    server = undefined
    await clientSawClose // close() ended the connection itself
    socket.destroy()
  })

  it('a failing waitUntil promise is reported by name only and does not block close()', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const fail = deferred()
    const url = await start(async (_request, context) => {
      context?.waitUntil?.(fail.promise.then(() => Promise.reject(new TypeError('token=secret'))))
      return new Response('ok')
    })
    expect(await (await fetch(url)).text()).toBe('ok')
    const closing = server!.close()
    server = undefined
    fail.resolve() // fails after close() began
    await closing
    expect(error).toHaveBeenCalledTimes(1)
    const logged = JSON.stringify(error.mock.calls)
    expect(logged).toContain('TypeError')
    expect(logged).not.toContain('secret')
  })
})
