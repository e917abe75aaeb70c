/**
 * The `Request` the Node adapter hands to the handler.
 *
 * What a handler reads on every request — `method`, `url`, `headers`, `signal` — is
 * served straight from Node's `IncomingMessage`. undici's own `Request` is built only
 * when something needs more: the body, `clone()`, any other member, `new Request(request)`
 * or `fetch(request)`. On Node 20 undici's constructor costs ~8 µs, most of it the
 * `AbortSignal` it always makes: about a third of what `node:http` spends on a whole
 * request, and a cache hit needs none of it. (The technique of `@hono/node-server` and
 * `srvx`; docs/architecture.md says why we did not take either as a dependency.)
 *
 * It stays a `Request` to every check that matters: `instanceof Request`, every member
 * (forwarded to undici's request once built), and undici's constructor, which reads
 * another request's state from symbol-keyed fields (undici 6, in Node 20 and 22): those
 * fields are forwarded too, so `new Request(request, init)` copies method, URL, headers
 * and body, and its signal follows the client. Where that does not hold (the check below
 * fails, e.g. an undici that keeps its state in private fields), undici's request is
 * built at once, with the same behaviour.
 */
import type { IncomingMessage } from 'node:http'
import { forwardMembers, forwardStateFields } from './forward-members.js'
import { adoptHeaders, requestHeaders } from './headers.js'

const NativeRequest = globalThis.Request

/** A Host value that cannot move the path: a name, IPv4 or bracketed IPv6, and an optional port. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/
/** Host values already checked to make a valid URL (a connection sends the same one again and again). */
const checkedHosts = new Map<string, boolean>()
const CHECKED_HOSTS_MAX = 256

/**
 * The request's URL: `http(s)://host` and the raw origin-form target. A Host header that
 * could move the path (`x/a/%2E%2E/b?`) or makes no valid URL (`256.1.1.1`) is replaced
 * by the socket's local address.
 */
export function requestUrl(req: IncomingMessage, target: string): string {
  let host = req.headers.host
  if (host === undefined || !validHost(host)) host = socketHost(req)
  const protocol = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
  return `${protocol}://${host}${target}`
}

function validHost(host: string): boolean {
  let valid = checkedHosts.get(host)
  if (valid === undefined) {
    valid = HOST.test(host) && URL.canParse(`http://${host}/`)
    if (checkedHosts.size >= CHECKED_HOSTS_MAX) checkedHosts.clear()
    checkedHosts.set(host, valid)
  }
  return valid
}

function socketHost({ socket }: IncomingMessage): string {
  const address = socket.localAddress ?? 'localhost'
  return `${address.includes(':') ? `[${address}]` : address}:${socket.localPort ?? 80}`
}

/**
 * The Request for `req`. GET and HEAD requests (everything a proxy of reads serves) are
 * lazy; other methods are undici's at once, so a method undici refuses (`TRACE`) or a
 * body is handled as undici handles it. Throws when undici refuses the request (answer 400).
 * Either way its signal, and that of `request.clone()` and `new Request(request)`, is
 * aborted when the client leaves before the response is complete.
 */
export function createNodeRequest(req: IncomingMessage, url: string): Request {
  const method = req.method ?? 'GET'
  const bodyless = method === 'GET' || method === 'HEAD'
  if (LAZY && bodyless) return new NodeRequest(req, url) as unknown as Request
  const controller = new AbortController()
  const init: RequestInit & { duplex?: 'half' } = { method, headers: requestHeaders(req.rawHeaders), signal: controller.signal }
  if (!bodyless && hasBody(req)) {
    init.body = requestBody(req)
    init.duplex = 'half'
  }
  const request = new NativeRequest(url, init)
  clientSignals.set(request, controller)
  return request
}

/** What aborts an eager request's signal (undici's own follows the one given to it). */
const clientSignals = new WeakMap<Request, AbortController>()

/** The client left before the response was complete: aborts the request's signal, which cancels the S3 request. */
export function abortNodeRequest(request: Request): void {
  if (request instanceof NodeRequest) NodeRequest.abort(request)
  else clientSignals.get(request)?.abort()
}

class NodeRequest {
  readonly #req: IncomingMessage
  readonly #url: string
  #headers: Headers | undefined
  #controller: AbortController | undefined
  #aborted = false
  #native: Request | undefined

  constructor(req: IncomingMessage, url: string) {
    this.#req = req
    this.#url = url
  }

  static abort(request: NodeRequest): void {
    request.#aborted = true
    request.#controller?.abort()
  }

  /** undici's Request, built on first need with this request's method, URL, headers, body and signal. */
  static native(request: NodeRequest): Request {
    if (request.#native === undefined) {
      // Only GET and HEAD are lazy: no body.
      const headers = request.headers
      request.#native = new NativeRequest(request.#url, { method: request.method, headers, signal: request.signal })
      adoptHeaders(headers, request.#native.headers)
    }
    return request.#native
  }

  get method(): string {
    return this.#native?.method ?? this.#req.method ?? 'GET'
  }

  get url(): string {
    return this.#url
  }

  /** Every header as received, repeats joined (`a, b`); HTTP/2 pseudo-headers left out. */
  get headers(): Headers {
    return (this.#headers ??= requestHeaders(this.#req.rawHeaders))
  }

  /**
   * Aborted when the client leaves before the response is complete. Made on first read:
   * an `AbortSignal` is the most expensive object of a request on Node 20, and a cache
   * hit never reads it.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort()
    }
    return this.#controller.signal
  }

  // undici's clone follows the signal of the request it clones, which follows ours.
  clone(): Request {
    return NodeRequest.native(this).clone()
  }
}

const materialize = (request: NodeRequest): Request => NodeRequest.native(request)

// Everything else a Request has — getters (`body`, `cache`, `duplex`, ...), methods
// (`text()`, `arrayBuffer()`, ...) and the fields undici keeps its state in — is
// undici's, read from the request once built.
Object.setPrototypeOf(NodeRequest.prototype, NativeRequest.prototype)
forwardMembers(NodeRequest.prototype, NativeRequest.prototype, materialize)
forwardStateFields(NodeRequest.prototype, new NativeRequest('http://localhost/'), materialize)

/** Whether `new Request(lazyRequest, init)` copies what it must in this runtime. */
const LAZY = ((): boolean => {
  try {
    const fake = { method: 'GET', rawHeaders: ['X-Probe', '1'], headers: {}, socket: {} } as unknown as IncomingMessage
    const probe = new NodeRequest(fake, 'http://localhost/probe?q') as unknown as Request
    const copy = new NativeRequest(probe, { headers: { 'x-added': '2' } })
    const clone = probe.clone()
    return probe instanceof NativeRequest && copy.url === probe.url && copy.method === 'GET' && new NativeRequest(probe).headers.get('x-probe') === '1' && clone.url === probe.url
  } catch {
    return false
  }
})()

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * The request body as a web stream that reads nothing until the handler reads it.
 * A body nobody reads is left to Node, which discards it so the connection can be
 * reused (`Readable.toWeb` would start reading at once and stall the connection).
 */
function requestBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let listening = false
  const onData = (chunk: Buffer) => {
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    if ((controller.desiredSize ?? 0) <= 0) req.pause()
  }
  const onEnd = () => {
    detach()
    controller.close()
  }
  const onError = (error: Error) => {
    detach()
    controller.error(error)
  }
  const onClose = () => onError(new Error('The request body was aborted'))
  const detach = () => {
    req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
  }
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      pull() {
        if (!listening) {
          listening = true
          req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose)
        }
        req.resume()
      },
      cancel() {
        detach()
        req.resume() // discard the rest; the response can still be sent
      },
    },
    { highWaterMark: 0 },
  )
}
