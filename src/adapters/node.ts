/**
 * `yatagarasu/node`: serves a fetch handler with `node:http`.
 *
 * The bridge keeps the proxy's promises: a slow client slows the read of the
 * response body (we wait for `drain`), a client that leaves aborts the request
 * signal and cancels the body (which cancels the S3 transfer), and a body that fails
 * mid-way destroys the socket so the client sees an aborted transfer, never a
 * clean-looking truncated one.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { FetchHandler, HandlerContext } from '../context.js'
import { nodeFetch } from './node-fetch.js'

export { nodeFetch } from './node-fetch.js'

export interface ServeOptions {
  /** Default 0: a free port. */
  port?: number
  /** Default `127.0.0.1`. */
  hostname?: string
}

export interface NodeServer {
  /** `http://hostname:port`, e.g. `http://127.0.0.1:54321`. */
  url: string
  /** The underlying `http.Server`, for tuning timeouts or listening to events. */
  server: http.Server
  /** Stops accepting, waits for in-flight responses and background work, then resolves. */
  close(): Promise<void>
}

type NodeListener = (req: IncomingMessage, res: ServerResponse) => void

interface ListenerState {
  inFlight: number
  background: Set<Promise<unknown>>
  idle: Array<() => void>
}

/**
 * Adapts a fetch handler to `http.createServer`. The handler gets the client IP, a
 * `waitUntil`, the raw request path and {@link nodeFetch} (a fetch that does not
 * decode `Content-Encoding`) in its context.
 *
 * @example
 * http.createServer(toNodeListener(createYatagarasu(config))).listen(8080)
 */
export function toNodeListener(handler: FetchHandler): NodeListener {
  return createListener(handler, { inFlight: 0, background: new Set(), idle: [] })
}

function createListener(handler: FetchHandler, state: ListenerState): NodeListener {
  const waitUntil = (promise: Promise<unknown>) => {
    const tracked = promise.catch((error: unknown) => {
      console.error(JSON.stringify({ level: 'error', message: 'background task failed', error: errorName(error) }))
    })
    state.background.add(tracked)
    void tracked.finally(() => state.background.delete(tracked))
  }

  return function yatagarasuNodeListener(req, res) {
    state.inFlight++
    res.once('close', () => {
      state.inFlight--
      if (state.inFlight === 0) for (const resolve of state.idle.splice(0)) resolve()
    })
    const abort = new AbortController()
    // 'close' before the response finished means the client went away.
    res.once('close', () => {
      if (!res.writableFinished) abort.abort()
    })
    const context: HandlerContext = {
      clientIp: req.socket.remoteAddress,
      waitUntil,
      originFetch: nodeFetch,
      rawPath: req.url ?? '/',
    }
    let request: Request
    try {
      request = toRequest(req, abort.signal)
    } catch {
      res.writeHead(400, { 'Content-Type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify({ error: { status: 400, code: 'BadRequest', message: 'Malformed request' } }))
      return
    }
    handler(request, context).then(
      (response) => sendResponse(req, res, response),
      () => sendInternalError(res),
    )
  }
}

/**
 * Serves a fetch handler on `hostname:port` (default `127.0.0.1:0`, a free port).
 *
 * @example
 * const server = await serve(createYatagarasu(config), { port: 8080 })
 * console.log(server.url)
 * await server.close()
 */
export async function serve(handler: FetchHandler, options: ServeOptions = {}): Promise<NodeServer> {
  const state: ListenerState = { inFlight: 0, background: new Set(), idle: [] }
  const server = http.createServer(createListener(handler, state))
  const hostname = options.hostname ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, hostname, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const host = hostname.includes(':') ? `[${hostname}]` : hostname
  return {
    url: `http://${host}:${port}`,
    server,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      if (state.inFlight > 0) await new Promise<void>((resolve) => state.idle.push(resolve))
      server.closeIdleConnections()
      await Promise.all([...state.background])
      await closed
    },
  }
}

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const host = req.headers.host ?? 'localhost'
  const protocol = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
  const url = `${protocol}://${host}${req.url ?? '/'}`
  const method = req.method ?? 'GET'
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.charCodeAt(0) !== 58 /* ':' HTTP/2 pseudo-header */) headers.append(name, raw[i + 1]!)
  }
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers, signal })
  return new Request(url, {
    method,
    headers,
    signal,
    body: Readable.toWeb(req) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit)
}

async function sendResponse(req: IncomingMessage, res: ServerResponse, response: Response): Promise<void> {
  if (res.destroyed) {
    await response.body?.cancel().catch(() => {})
    return
  }
  res.writeHead(response.status, response.statusText || undefined, responseHeaders(response.headers))
  const body = response.body
  // Node's write() always returns true for HEAD, so pumping a body would never wait:
  // never read one.
  if (body === null || req.method === 'HEAD') {
    res.end()
    await body?.cancel().catch(() => {})
    return
  }
  const reader = body.getReader()
  const onClose = () => {
    reader.cancel().catch(() => {})
  }
  res.once('close', onClose)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value)) await drained(res)
      if (res.destroyed) return
    }
    res.end()
  } catch {
    // The body failed mid-way (S3 reset, idle timeout): the client must see an aborted
    // transfer, not a clean end.
    res.destroy()
  } finally {
    res.off('close', onClose)
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/** A flat `[name, value, name, value, ...]` list, as `writeHead` takes it; keeps every Set-Cookie. */
function responseHeaders(headers: Headers): string[] {
  const out: string[] = []
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out.push(name, value)
  })
  for (const cookie of headers.getSetCookie()) out.push('set-cookie', cookie)
  return out
}

function sendInternalError(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify({ error: { status: 500, code: 'InternalError', message: 'Internal error' } })
  res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error'
}
