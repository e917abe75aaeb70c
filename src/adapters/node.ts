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
import type { FetchHandler, HandlerContext } from '../context.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { backgroundTasks, type BackgroundTasks } from './background.js'
import { bytesOf, bytesResponse } from './node/bytes-response.js'
import { headerPairs } from './node/headers.js'
import { BUSY_MESSAGE } from './node/busy.js'
import { abortNodeRequest, createNodeRequest, requestUrl } from './node/request.js'
import { nodeFetch } from '../s3/transports/node-http.js'
import { pushSourceOf, type PushControl, type PushSource } from '../http/push-body.js'

export { nodeFetch } from '../s3/transports/node-http.js'

export interface ServeOptions {
  /** Default 0: a free port. */
  port?: number
  /** Default `127.0.0.1`. */
  hostname?: string
  /**
   * Seconds for a whole request (head and body) to arrive; a slower sender is answered
   * 408 and its connection closed. Decimals allowed. Default 60.
   */
  requestTimeout?: number
  /**
   * Requests answered at once. Beyond it a request gets 503 with `Retry-After` and a
   * JSON error, and the handler (so S3) never sees it. Default 5000.
   */
  maxConcurrentRequests?: number
  /**
   * Answers the requests refused beyond `maxConcurrentRequests` in place of the plain 503,
   * e.g. a `compose()` of `requestId()`, `requestLog()` and `metrics()` ending in a
   * `ServiceUnavailableError`, so a refusal is logged and counted like any other request
   * (the standalone server does that). Keep it cheap: it runs when the server is busiest.
   */
  busy?: FetchHandler
  /** Seconds an idle keep-alive connection stays open. Decimals allowed. Default 5. */
  keepAliveTimeout?: number
  /** Requests served on one connection before it is closed; 0 = unlimited. Default 0. */
  maxRequestsPerSocket?: number
  /** Where a handler that throws (it should not) or a response Node cannot write is reported. Default: {@link consoleLogger}. */
  logger?: Logger
}

export interface NodeListenerOptions {
  /** See {@link ServeOptions.logger}. */
  logger?: Logger
}

/** The defaults of {@link ServeOptions}' limits (the standalone server's `server` block has the same). */
export const SERVER_LIMIT_DEFAULTS = {
  requestTimeout: 60,
  maxConcurrentRequests: 5000,
  keepAliveTimeout: 5,
  maxRequestsPerSocket: 0,
} as const satisfies Required<Omit<ServeOptions, 'port' | 'hostname' | 'logger' | 'busy'>>

export interface NodeServer {
  /** `http://hostname:port`, e.g. `http://127.0.0.1:54321`. */
  url: string
  /** The underlying `http.Server`, for tuning timeouts or listening to events. */
  server: http.Server
  /**
   * Stops accepting, waits for in-flight responses and `waitUntil` work, closes the
   * remaining (idle) connections, then resolves. Calling it again returns the same promise.
   */
  close(): Promise<void>
}

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void

/** What `close()` waits for. */
interface Tracker {
  inFlight: number
  /** Beyond this many requests in flight, answer 503 without calling the handler. */
  maxInFlight: number
  /** Answers those requests instead of the plain 503. */
  busy: FetchHandler | undefined
  /** Requests served per connection, when `maxRequestsPerSocket` limits them. */
  perSocket: { max: number; served: WeakMap<object, number> } | undefined
  closing: boolean
  background: BackgroundTasks
  onIdle: (() => void) | undefined
  logger: Logger
}

const newTracker = (logger: Logger, maxInFlight = Infinity, maxPerSocket = 0, busy?: FetchHandler): Tracker => ({
  inFlight: 0,
  maxInFlight,
  busy,
  perSocket: maxPerSocket > 0 ? { max: maxPerSocket, served: new WeakMap() } : undefined,
  closing: false,
  background: backgroundTasks(logger),
  onIdle: undefined,
  logger,
})
const noop = () => {}

/**
 * Adapts a fetch handler to `http.createServer`. The handler gets the client IP, a
 * `waitUntil`, the raw request path and {@link nodeFetch} (a fetch that does not
 * decode `Content-Encoding`) in its context.
 *
 * @example
 * http.createServer(toNodeListener(createYatagarasu(config))).listen(8080)
 */
export function toNodeListener(handler: FetchHandler, options: NodeListenerOptions = {}): NodeListener {
  return createListener(handler, newTracker(options.logger ?? consoleLogger))
}

function createListener(handler: FetchHandler, tracker: Tracker): NodeListener {
  const waitUntil = tracker.background.waitUntil

  return function yatagarasuNodeListener(req, res) {
    tracker.inFlight++
    let request: Request | undefined
    res.once('close', () => {
      // 'close' before the last byte was flushed: the client went away (or we broke
      // the socket). Aborting the signal is what cancels the S3 request.
      if (!res.writableFinished && request) abortNodeRequest(request)
      if (--tracker.inFlight === 0 && tracker.onIdle) tracker.onIdle()
    })

    // Counted until each response has ended, so a slow download holds its place.
    const busy = tracker.inFlight > tracker.maxInFlight
    if (busy && tracker.busy === undefined) {
      sendError(res, 503, 'ServiceUnavailable', BUSY_MESSAGE, { 'retry-after': '1' })
      return
    }
    const target = req.url ?? '/'
    if (target.charCodeAt(0) !== 47 /* '/' */) {
      // Only origin-form targets: `*` and absolute-form would make a URL whose path
      // differs from the raw path the router checks.
      sendError(res, 400, 'BadRequest', 'Malformed request')
      return
    }
    try {
      request = createNodeRequest(req, requestUrl(req, target))
    } catch {
      sendError(res, 400, 'BadRequest', 'Malformed request')
      return
    }
    const context: HandlerContext = { clientIp: req.socket.remoteAddress, waitUntil, originFetch: nodeFetch, rawPath: target, bytesResponse }
    let pending: Promise<Response>
    try {
      pending = busy ? tracker.busy!(request, context) : handler(request, context)
    } catch (error) {
      pending = Promise.reject(error)
    }
    // One then for both outcomes: a response in memory is written without another promise.
    pending.then(
      (response) => {
        try {
          sendResponse(req, res, response, tracker)?.catch((error: unknown) => fail(res, error, tracker.logger))
        } catch (error) {
          fail(res, error, tracker.logger)
        }
      },
      (error: unknown) => fail(res, error, tracker.logger),
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
  const limits = serverLimits(options)
  const tracker = newTracker(options.logger ?? consoleLogger, limits.maxConcurrentRequests, limits.maxRequestsPerSocket, options.busy)
  const requestTimeoutMs = Math.round(limits.requestTimeout * 1000)
  const server = http.createServer(
    {
      // The head alone may take the whole request timeout (Node refuses a head timeout longer than it).
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      keepAliveTimeout: Math.round(limits.keepAliveTimeout * 1000),
      // Node checks for expired requests every 30 s by default: a 60 s timeout could take 90.
      connectionsCheckingInterval: Math.min(1000, requestTimeoutMs),
    },
    createListener(handler, tracker),
  )
  // Node then answers requests pipelined past the limit with 503 itself (see isLastOnSocket for the rest).
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket
  const hostname = options.hostname ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, hostname, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`,
    server,
    close: () => (closing ??= shutdown(server, tracker)),
  }
}

/** The limits of `options` with their defaults; a value that makes no sense is a RangeError naming the option. */
function serverLimits(options: ServeOptions): Required<Omit<ServeOptions, 'port' | 'hostname' | 'logger' | 'busy'>> {
  const limits = { ...SERVER_LIMIT_DEFAULTS }
  for (const name of Object.keys(SERVER_LIMIT_DEFAULTS) as Array<keyof typeof SERVER_LIMIT_DEFAULTS>) {
    const value = options[name]
    if (value === undefined) continue
    const positive = name === 'requestTimeout' || name === 'keepAliveTimeout' || name === 'maxConcurrentRequests'
    const whole = name === 'maxConcurrentRequests' || name === 'maxRequestsPerSocket'
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0) || (whole && !Number.isInteger(value))) {
      throw new RangeError(`serve(): ${name} must be ${whole ? 'a whole number' : 'a number of seconds'}${positive ? ' above 0' : ', 0 or more'}`)
    }
    ;(limits as Record<string, number>)[name] = value
  }
  return limits
}

async function shutdown(server: http.Server, tracker: Tracker): Promise<void> {
  // Responses sent from now on say `Connection: close`, so their sockets end with them.
  tracker.closing = true
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  // waitUntil work is registered during responses, and a busy keep-alive connection
  // may still bring one more request: wait until both are quiet at the same time.
  while (tracker.inFlight > 0 || tracker.background.size > 0) {
    if (tracker.inFlight > 0) {
      await new Promise<void>((resolve) => (tracker.onIdle = resolve))
      tracker.onIdle = undefined
    }
    await tracker.background.settled()
  }
  // Nothing is being answered: what is left is idle, or a request head that never
  // completed. Neither may keep close() waiting.
  server.closeAllConnections()
  await closed
}

// --- Response --------------------------------------------------------------

/** Writes the response; a promise only while a body is still being written (a stream, or bytes in pieces). */
function sendResponse(req: IncomingMessage, res: ServerResponse, response: Response, tracker: Tracker): Promise<void> | undefined {
  // A cache hit's bytes are written as they are; any other body is read from its stream.
  const bytes = bytesOf(response)
  const body = bytes === undefined ? response.body : null
  if (res.destroyed) {
    // The client left while the handler worked.
    body?.cancel().catch(noop)
    return
  }
  const headers = headerPairs(response.headers) ?? responseHeaders(response.headers)
  if (tracker.closing || isLastOnSocket(req, tracker)) headers.push('connection', 'close')
  try {
    res.writeHead(response.status, response.statusText || undefined, headers)
  } catch (error) {
    // A header value Node refuses (e.g. a character above U+00FF): answered 500 by `fail`.
    body?.cancel().catch(noop)
    throw error
  }
  // Node discards the body of HEAD, 204 and 304 responses and its write() then always
  // returns true: pumping one would never wait. Never read it.
  const nullBody = req.method === 'HEAD' || response.status === 204 || response.status === 304
  if (nullBody || body === null) {
    body?.cancel().catch(noop)
    if (!nullBody && bytes) return writeBytes(res, bytes)
    res.end()
    return
  }
  return pump(res, body)
}

/** Writes a body stream at the client's pace; the client leaving cancels it. */
async function pump(res: ServerResponse, body: ReadableStream<Uint8Array>): Promise<void> {
  // A body its transport can push (an S3 body through nodeFetch, src/http/push-body.ts) is
  // piped to the socket without its Web stream; any other is read from its stream.
  const source = pushSourceOf(body)
  if (source !== undefined && (await pushBody(res, body, source))) return
  const reader = body.getReader()
  const cancel = () => {
    reader.cancel().catch(noop)
  }
  // The client leaving cancels the body at once, even while we wait for a chunk.
  res.once('close', cancel)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done || res.destroyed) break
      // No promise per chunk while the socket keeps up; a slow client pauses the read.
      if (!res.write(value)) await drained(res)
    }
    if (!res.destroyed) res.end()
  } catch {
    // The body failed mid-way (S3 reset, idle timeout): the client must see an aborted
    // transfer, not a clean end.
    res.destroy()
  } finally {
    res.off('close', cancel)
    // Destroyed before 'close' was emitted: cancel here rather than never.
    if (res.destroyed) cancel()
  }
}

/**
 * Writes a pushed body to the socket as `readable.pipe(res)` would: each chunk as it comes,
 * the source paused while the socket is full and resumed on 'drain'; the client leaving
 * cancels the source (so the S3 transfer), a source that fails destroys the socket.
 * Resolves `false`, having done nothing, when the body can no longer be pushed.
 */
function pushBody(res: ServerResponse, body: ReadableStream<Uint8Array>, source: PushSource): Promise<boolean> {
  return new Promise((resolve) => {
    let finished = false
    let control: PushControl | undefined
    const finish = () => {
      finished = true
      res.off('drain', onDrain).off('close', onClose)
      resolve(true)
    }
    const onDrain = () => control?.resume()
    const onClose = () => {
      if (finished) return
      finish()
      control?.cancel()
    }
    control = source.push({
      write: (chunk) => res.write(chunk),
      end: () => {
        if (finished) return
        finish()
        res.end()
      },
      error: () => {
        if (finished) return
        finish()
        // The client must see an aborted transfer, not a clean end.
        res.destroy()
      },
    })
    if (control === undefined) return resolve(false)
    // The Web side of the body is never read now; locked, nothing else can.
    body.getReader()
    if (finished) return
    res.on('drain', onDrain).once('close', onClose)
    // The client left before the first chunk: 'close' was already emitted.
    if (res.destroyed) onClose()
  })
}

/**
 * Whether this response is the last its connection may carry. Node's `maxRequestsPerSocket`
 * says `Connection: close` on it but leaves the socket open until the keep-alive timeout
 * (Node 20); an explicit `Connection: close` makes Node end the socket after the response.
 */
function isLastOnSocket(req: IncomingMessage, tracker: Tracker): boolean {
  const limit = tracker.perSocket
  if (limit === undefined) return false
  const served = (limit.served.get(req.socket) ?? 0) + 1
  limit.served.set(req.socket, served)
  return served >= limit.max
}

/**
 * The largest piece of a cached body handed to the socket at once. A body up to this size
 * is written in one go, with the headers (what the node:http floor does); a larger one
 * piece by piece, the next only once the socket took the last (backpressure). The pieces
 * are views of the cached bytes, never copies: a client that stops reading pins no memory
 * of its own beyond the kernel's socket buffers.
 */
const HIT_CHUNK = 256 * 1024

function writeBytes(res: ServerResponse, bytes: Uint8Array): Promise<void> | undefined {
  if (bytes.byteLength <= HIT_CHUNK) {
    res.end(bytes)
    return
  }
  return writePieces(res, bytes)
}

async function writePieces(res: ServerResponse, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength && !res.destroyed; ) {
    const end = Math.min(offset + HIT_CHUNK, bytes.byteLength)
    const piece = bytes.subarray(offset, end)
    offset = end
    if (offset === bytes.byteLength) res.end(piece)
    else if (!res.write(piece)) await drained(res)
  }
}

/** Resolves on 'drain', or on 'close' when the client leaves instead. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done)
      resolve()
    }
    res.on('drain', done).on('close', done)
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

/** The handler threw (it should not), or its Response could not be written. */
function fail(res: ServerResponse, error: unknown, logger: Logger): void {
  if (res.destroyed) return // the client left; nothing to report
  // By name only: messages may hold secrets (URLs with credentials, tokens).
  logger.error('request failed', { error: error instanceof Error ? error.name : typeof error })
  if (res.headersSent) res.destroy()
  else sendError(res, 500, 'InternalError', 'Internal error')
}

function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const requestId = crypto.randomUUID()
  const body = JSON.stringify({ error: { status, code, message, requestId } })
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  })
  res.end(body)
}
