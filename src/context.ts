import type { ResolvedBucket } from './config/types.js'
import type { ImageOperation } from './images/params.js'
import type { RequestTracing } from './tracing/spans.js'

/**
 * What the runtime may pass as the handler's second argument. Every field is
 * optional, and unknown shapes are tolerated: `Bun.serve` passes its server object,
 * `Deno.serve` a `ServeHandlerInfo`, Next.js `{ params }`.
 */
export interface HandlerContext {
  /** The client's IP address, used by IP filters, rate limits and logs. */
  clientIp?: string
  /** Keeps background work (cache writes) alive after the response is sent (Vercel, Workers). */
  waitUntil?: (promise: Promise<unknown>) => void
  /**
   * The fetch to reach S3 with, when the runtime's global one is unsuitable (Node's
   * decodes `Content-Encoding`). The Node adapter passes one. Not named `fetch`,
   * because Bun passes its server object here, whose `fetch` calls this handler.
   */
  originFetch?: (input: string, init: RequestInit) => Promise<Response>
  /**
   * The request target exactly as received (path and query), before URL normalisation.
   * `new Request()` reads `\\` as `/` and resolves `..` and `%2E%2E` segments away; with
   * the raw path the router can refuse them (400). Default: the path and query of
   * `request.url` as it is — raw where the runtime keeps it so (Deno, workerd), already
   * normalised where it does not (Node's `new Request`, Bun). The Node adapter passes it.
   */
  rawPath?: string
  /**
   * Builds the response for a body already in memory (a cache hit; `null` for none). The
   * bytes are shared with the cache: the response must neither alter them nor let its
   * consumer alter them. The Node adapter passes one whose bytes it writes to the socket
   * itself, without the body stream and the copy of `new Response(bytes)`, which on
   * Node 20 cost more than the rest of a hit. Default: `new Response(bytes, init)`
   * (which copies them).
   */
  bytesResponse?: (bytes: Uint8Array | null, init: ResponseInit) => Response
  /**
   * The platform decodes a response's `Content-Encoding` before the client gets it
   * (Next.js route handlers do, and drop the header). A range of a pre-compressed object
   * would then be bytes cut from the compressed form, so `s3Origin` asks S3 once more for
   * the whole object instead (a server may ignore Range, RFC 9110 §14.2), which the
   * platform serves decoded like any other. The Vercel adapter sets it. Default: false.
   */
  decodesContentEncoding?: boolean
}

/**
 * A runtime's own second argument that is not a {@link HandlerContext}: Bun's server
 * object, Deno's `ServeHandlerInfo`, Next.js's `{ params }`. It is accepted and ignored.
 * Without it in {@link FetchHandler}'s type, TypeScript would refuse `Bun.serve({ fetch:
 * handler })`, `Deno.serve(handler)` and `export const GET = handler` (a type whose fields
 * are all optional accepts no object that shares none of them), and `next build` fails.
 * A field of HandlerContext's given with the wrong type is still an error.
 */
export type PlatformArgument = object & { readonly [K in keyof HandlerContext]?: never }

/** A Web-standard fetch handler; what `createYatagarasu` and `compose` return. */
export type FetchHandler = (request: Request, context?: HandlerContext | PlatformArgument) => Promise<Response>

/** A content coding the proxy can apply (RFC 9110 §8.4.1). */
export type ContentCoding = 'gzip' | 'br'

/** Cache outcome reported in `X-Cache`; `STALE`: an expired entry served within `staleWhileRevalidate` or `staleIfError`. */
export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS' | 'STALE'

/**
 * The per-request state shared by the middlewares. Routing fills `bucket` and `key`;
 * later middlewares read them. User middlewares can keep their own data in `state`.
 */
export interface RequestContext {
  readonly request: Request
  /** The request URL, parsed once (on first use). Middlewares may remove parameters (e.g. a query token). */
  url: URL
  /** `url.pathname`, without parsing the URL when the path is plain (what routing reads). */
  readonly pathname: string
  readonly method: string
  requestId: string
  readonly clientIp: string | undefined
  /** Schedules background work; uses the runtime's `waitUntil` when given. */
  readonly waitUntil: (promise: Promise<unknown>) => void
  /** The runtime's fetch for S3, if it gave one (see {@link HandlerContext.originFetch}). */
  readonly originFetch: HandlerContext['originFetch']
  /** See {@link HandlerContext.rawPath}; `request.url`'s path and query when the runtime gave none. */
  readonly rawPath: string
  /** Builds the response for a body in memory; see {@link HandlerContext.bytesResponse}. */
  readonly bytesResponse: (bytes: Uint8Array | null, init: ResponseInit) => Response
  /** See {@link HandlerContext.decodesContentEncoding}. */
  readonly decodesContentEncoding: boolean
  /** `performance.now()` when the request arrived. */
  readonly startTime: number
  /** Milliseconds spent per phase, e.g. `{ s3: 12.5 }`, for logs and metrics. */
  readonly timings: Record<string, number>
  /** The routed bucket, set by the routing middleware. */
  bucket?: ResolvedBucket
  /** The decoded S3 object key, set by the routing middleware. */
  key?: string
  /** Verified JWT claims, set by the auth middleware. */
  claims?: Record<string, unknown>
  /** Set by the cache middleware. */
  cacheStatus?: CacheStatus
  /**
   * Names a variant of the object, such as an image transform's canonical parameters.
   * The cache keeps variants apart from the object and from each other.
   */
  variant?: string
  /** The content coding the response gets (`gzip`, `br`), set by the `compressionRequest` middleware. */
  encoding?: ContentCoding
  /** The image transform asked for, set by the `imageRequest` middleware. */
  image?: ImageOperation
  /**
   * What `s3Origin` asks S3 for, when it must differ from the client's request: the
   * image transform needs the whole current object (a GET without `Range` or
   * conditional headers), whatever the client sent. Default: the client's method and
   * its range and conditional headers.
   */
  originRequest?: { readonly method: 'GET' | 'HEAD'; readonly headers: Headers }
  /** The request's server span, set by the `tracing` middleware; child spans start from it. */
  tracing?: RequestTracing
  /** Free-form state for user middlewares. */
  readonly state: Map<string | symbol, unknown>
}

/** Awaits the rest of the chain. */
export type Next = () => Promise<Response>

/**
 * A middleware handles a request or passes it on with `next()`, and may change the
 * response on the way back. Throw an `HttpError` to answer with an error.
 */
export type Middleware = (ctx: RequestContext, next: Next) => Promise<Response>

export function createContext(request: Request, runtime: HandlerContext | undefined): RequestContext {
  return new Context(request, runtime)
}

/**
 * The request context as {@link createContext} makes it. What a cache hit never needs is
 * made on first use: the parsed URL (`pathname` reads the path from the string when that
 * gives what parsing would), the bound `waitUntil`, `state`, `timings`. On Node 20 these
 * were about a tenth of a hit's handler time.
 */
class Context implements RequestContext {
  readonly request: Request
  readonly method: string
  requestId: string
  readonly clientIp: string | undefined
  readonly originFetch: HandlerContext['originFetch']
  readonly rawPath: string
  readonly bytesResponse: (bytes: Uint8Array | null, init: ResponseInit) => Response
  readonly decodesContentEncoding: boolean
  readonly startTime: number
  readonly #runtime: HandlerContext | undefined
  #url: URL | undefined
  #waitUntil: ((promise: Promise<unknown>) => void) | undefined
  #timings: Record<string, number> | undefined
  #state: Map<string | symbol, unknown> | undefined

  constructor(request: Request, runtime: HandlerContext | undefined) {
    this.request = request
    this.method = request.method
    this.requestId = nextRequestId()
    this.clientIp = typeof runtime?.clientIp === 'string' ? runtime.clientIp : undefined
    this.originFetch = typeof runtime?.originFetch === 'function' ? runtime.originFetch : undefined
    this.rawPath = typeof runtime?.rawPath === 'string' ? runtime.rawPath : targetOf(request.url)
    this.bytesResponse = typeof runtime?.bytesResponse === 'function' ? runtime.bytesResponse : newResponse
    this.decodesContentEncoding = runtime?.decodesContentEncoding === true
    this.startTime = performance.now()
    this.#runtime = runtime
  }

  get url(): URL {
    return (this.#url ??= new URL(this.request.url))
  }

  set url(url: URL) {
    this.#url = url
  }

  get pathname(): string {
    return this.#url?.pathname ?? plainPathname(this.request.url) ?? this.url.pathname
  }

  get waitUntil(): (promise: Promise<unknown>) => void {
    if (this.#waitUntil === undefined) {
      const runtime = this.#runtime
      this.#waitUntil = typeof runtime?.waitUntil === 'function' ? runtime.waitUntil.bind(runtime) : runDetached
    }
    return this.#waitUntil
  }

  get timings(): Record<string, number> {
    return (this.#timings ??= {})
  }

  get state(): Map<string | symbol, unknown> {
    return (this.#state ??= new Map())
  }
}

/**
 * Request ids: a random prefix drawn once per process and a counter, in the shape of a
 * UUID (`8-4-4-4-12` hex digits, the last twelve the counter). Unique across processes
 * as a random UUID is (the prefix has 90 random bits), at a fraction of the cost of
 * `crypto.randomUUID()` per request. They are labels, not secrets: consecutive requests
 * get consecutive ids.
 */
let idPrefix: string | undefined
let idCounter = 0
function nextRequestId(): string {
  if (idPrefix === undefined || idCounter >= 0xffffffffffff) {
    idPrefix = crypto.randomUUID().slice(0, 24)
    idCounter = 0
  }
  const count = (++idCounter).toString(16)
  return idPrefix + '000000000000'.slice(count.length) + count
}

// Characters a URL parser keeps as they are in an http(s) path: no percent-encoding added,
// nothing normalised (dot segments, `%2e` and `\\` are left to the parser).
const PLAIN_PATH = /^\/[A-Za-z0-9\-_~!$&'()*+,;=:@%/.]*$/

/** `new URL(href).pathname` read from the string, when it holds nothing parsing would change; otherwise `undefined`. */
function plainPathname(href: string): string | undefined {
  const authority = href.startsWith('https://') ? 8 : href.startsWith('http://') ? 7 : -1
  if (authority === -1) return undefined
  let start = authority
  while (start < href.length) {
    const code = href.charCodeAt(start)
    if (code === 47 /* / */ || code === 63 /* ? */ || code === 35 /* # */) break
    start++
  }
  if (href.charCodeAt(start) !== 47) return undefined
  let end = start
  while (end < href.length) {
    const code = href.charCodeAt(end)
    if (code === 63 || code === 35) break
    end++
  }
  const path = href.slice(start, end)
  if (!PLAIN_PATH.test(path) || path.includes('/.') || /%2e/i.test(path)) return undefined
  return path
}

// `new Response` copies a Uint8Array body: a consumer cannot alter the bytes it was given.
const newResponse = (bytes: Uint8Array | null, init: ResponseInit): Response => new Response(bytes as Uint8Array<ArrayBuffer> | null, init)

/** `/a/%2E%2E/b?q` from `http://host/a/%2E%2E/b?q`, as the string has it (no URL parsing). */
function targetOf(href: string): string {
  const authority = href.indexOf('//')
  const path = authority === -1 ? -1 : href.indexOf('/', authority + 2)
  return path === -1 ? '/' : href.slice(path)
}

/** Without a runtime `waitUntil`, background work runs on its own; its failure must not crash the process. */
function runDetached(promise: Promise<unknown>): void {
  promise.catch(() => {})
}
