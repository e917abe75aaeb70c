/** The Node adapter over real sockets, with small handlers (no S3). */
import http from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../src/adapters/node.js'
import type { FetchHandler, HandlerContext } from '../src/context.js'

let server: NodeServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start(handler: FetchHandler) {
  server = await serve(handler, { port: 0 })
  return server.url
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function endless(state: { pulled: number; cancelled: boolean }, chunkSize = 64 * 1024, delayMs = 0) {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (delayMs) await sleep(delayMs)
      state.pulled += chunkSize
      controller.enqueue(new Uint8Array(chunkSize))
    },
    cancel() {
      state.cancelled = true
    },
  })
}

describe('the Node adapter', () => {
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

  it('passes the raw path before URL normalisation', async () => {
    let rawPath: string | undefined
    let requestPath: string | undefined
    const url = await start(async (request, context) => {
      rawPath = context?.rawPath
      requestPath = new URL(request.url).pathname
      return new Response(null, { status: 204 })
    })
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(new URL(url).port), '127.0.0.1', () => {
        socket.end('GET /cdn/%2E%2E/secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      })
      socket.on('data', () => {})
      socket.on('end', resolve)
      socket.on('error', reject)
    })
    expect(rawPath).toBe('/cdn/%2E%2E/secret')
    expect(requestPath).toBe('/secret')
  })

  it('sends status, headers and every Set-Cookie', async () => {
    const url = await start(async () => {
      const headers = new Headers({ 'X-One': '1', 'Content-Type': 'text/plain' })
      headers.append('Set-Cookie', 'a=1')
      headers.append('Set-Cookie', 'b=2')
      return new Response('created', { status: 201, headers })
    })
    const response = await fetch(url)
    expect(response.status).toBe(201)
    expect(response.headers.get('x-one')).toBe('1')
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(await response.text()).toBe('created')
  })

  it('HEAD: headers and Content-Length, no body read', async () => {
    const state = { pulled: 0, cancelled: false }
    const url = await start(async () => new Response(endless(state), { headers: { 'Content-Length': '1000000' } }))
    const response = await fetch(url, { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-length')).toBe('1000000')
    await sleep(50)
    expect(state.cancelled).toBe(true)
    expect(state.pulled).toBeLessThanOrEqual(64 * 1024)
  })

  it('a client that stops reading stops the body being pulled (backpressure)', async () => {
    const state = { pulled: 0, cancelled: false }
    const url = await start(async () => new Response(endless(state)))
    const { port } = new URL(url)
    const socket = net.connect(Number(port), '127.0.0.1')
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise((resolve) => socket.once('data', resolve))
    socket.pause()
    await sleep(500)
    const pulledWhilePaused = state.pulled
    await sleep(300)
    // Kernel and stream buffers hold a few MB; without backpressure this grows by GB per second.
    expect(pulledWhilePaused).toBeLessThan(16 * 1024 * 1024)
    expect(state.pulled - pulledWhilePaused).toBeLessThanOrEqual(128 * 1024)
    socket.destroy()
    await sleep(100)
    expect(state.cancelled).toBe(true)
  })

  it('a client that leaves aborts the request signal and cancels the body at once', async () => {
    const state = { pulled: 0, cancelled: false }
    let aborted = false
    const url = await start(async (request) => {
      request.signal.addEventListener('abort', () => {
        aborted = true
      })
      return new Response(endless(state, 1024, 20))
    })
    await new Promise<void>((resolve) => {
      const req = http.get(url, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => {})
    })
    const left = performance.now()
    while (!(aborted && state.cancelled) && performance.now() - left < 1000) await sleep(10)
    expect(aborted).toBe(true)
    expect(state.cancelled).toBe(true)
  })

  it('a body that fails mid-way aborts the transfer (never a clean truncated response)', async () => {
    const url = await start(async () => {
      let sent = 0
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 3) controller.enqueue(new Uint8Array(1024))
          else controller.error(new Error('upstream reset'))
        },
      })
      return new Response(body, { headers: { 'Content-Length': String(1024 * 10) } })
    })
    const outcome = await new Promise<string>((resolve) => {
      const req = http.get(url, (res) => {
        res.on('data', () => {})
        res.on('error', () => resolve('error'))
        res.on('close', () => resolve(res.complete ? 'complete' : 'incomplete'))
      })
      req.on('error', () => resolve('error'))
    })
    expect(outcome).not.toBe('complete')
  })

  it('a handler that throws gives a JSON 500', async () => {
    const url = await start(async () => {
      throw new Error('bug with secret=abc')
    })
    const response = await fetch(url)
    expect(response.status).toBe(500)
    const text = await response.text()
    expect(JSON.parse(text).error.code).toBe('InternalError')
    expect(text).not.toContain('secret')
  })

  it('close() waits for in-flight responses and background work, and does not hang on idle keep-alive sockets', async () => {
    let backgroundDone = false
    const url = await start(async (request, context) => {
      if (new URL(request.url).pathname === '/slow') {
        context?.waitUntil?.(sleep(300).then(() => (backgroundDone = true)))
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            await sleep(200)
            controller.enqueue(new TextEncoder().encode('late'))
            controller.close()
          },
        })
        return new Response(body)
      }
      return new Response('quick')
    })
    const agent = new http.Agent({ keepAlive: true })
    await new Promise<void>((resolve) => http.get(`${url}/`, { agent }, (res) => res.resume().on('end', resolve)))
    const slow = fetch(`${url}/slow`).then((r) => r.text())
    await sleep(50)
    const closing = server!.close()
    server = undefined
    expect(await slow).toBe('late')
    await closing
    expect(backgroundDone).toBe(true)
    agent.destroy()
  })
})
