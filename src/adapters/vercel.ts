/**
 * `yatagarasu/vercel`: Next.js App Router route handlers, for the Node.js and the Edge
 * runtime alike (and so for Vercel Functions of either kind).
 *
 * Runtime-neutral on purpose: the same file runs inside Next's Edge sandbox, so it
 * uses Web globals only. What it adds to the plain handler:
 * - every method is exported, so Next's own 405/OPTIONS/HEAD stand-ins never answer in
 *   the proxy's place (they have no JSON body, skip CORS, and Next's HEAD-from-GET
 *   would download the whole object to throw it away);
 * - background work (cache writes) goes to the platform's `waitUntil`;
 * - on the Edge runtime, the catch-all params Next appends to the query string are
 *   removed before the handler sees the URL (see {@link toRouteHandlers}).
 *
 * The object key always comes from the raw URL path, never from `params`: Next decodes
 * the segments, so `a%2Fb` and `a/b` would be the same key there.
 */
import type { YatagarasuConfig } from '../config/types.js'
import type { FetchHandler, HandlerContext } from '../context.js'
import { createYatagarasu, type YatagarasuOptions } from '../create-yatagarasu.js'
import { errorResponse, isYatagarasuError } from '../errors.js'
import { consoleLogger } from '../logging/logger.js'

/** A route's dynamic segments as Next passes them: a promise since Next 15, a plain object before. */
export type RouteParams = Record<string, string | string[] | undefined>

/** The second argument Next gives a route handler. */
export interface RouteContext {
  params?: Promise<RouteParams> | RouteParams
}

/** One App Router route handler: `(request, { params }) => Response`. */
export type RouteHandler = (request: Request, context?: RouteContext) => Promise<Response>

/**
 * The exports of a route file. `GET`, `HEAD` and `OPTIONS` serve; the write methods are
 * there so the proxy's own JSON 405 (with `Allow`) answers them rather than Next's
 * empty one. Export the ones you want; all are the same function.
 */
export interface RouteHandlers {
  GET: RouteHandler
  HEAD: RouteHandler
  OPTIONS: RouteHandler
  POST: RouteHandler
  PUT: RouteHandler
  PATCH: RouteHandler
  DELETE: RouteHandler
}

export interface RouteHandlerOptions {
  /**
   * The client's IP address for IP filters, per-IP rate limits and logs. Default: the
   * `X-Real-IP` header when the request runs on Vercel (its edge network sets that
   * header, so a client cannot forge it), otherwise unknown. Self-hosted behind a proxy
   * you trust, read your proxy's header here.
   */
  clientIp?: (request: Request) => string | undefined
}

export interface CreateRouteHandlersOptions extends YatagarasuOptions, RouteHandlerOptions {}

/**
 * Route handlers for a config: `export const { GET, HEAD, OPTIONS } = createRouteHandlers(config)`.
 *
 * `config` may be a function returning the config. It is then called on the first
 * request rather than when the module loads, so `next build` (which loads route modules)
 * does not need the runtime's secrets, and a config read from an environment variable
 * is read where it exists. A config that fails answers every request with a JSON 500
 * and is reported to `options.logger` (field paths only, never values).
 *
 * Set `basePath` to the route's folder: the handler routes the full URL path.
 *
 * @example
 * // app/api/s3/[...path]/route.ts, serving /api/s3/<bucket prefix>/<key>
 * import { parseConfig } from 'yatagarasu'
 * import { nodeFetch } from 'yatagarasu/node' // Node.js runtime only: undici would gunzip objects
 * import { createRouteHandlers } from 'yatagarasu/vercel'
 *
 * export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = createRouteHandlers(
 *   () => ({ ...parseConfig(process.env.YATAGARASU_CONFIG ?? ''), basePath: '/api/s3' }),
 *   { fetch: nodeFetch },
 * )
 */
export function createRouteHandlers(
  config: YatagarasuConfig | (() => YatagarasuConfig),
  options: CreateRouteHandlersOptions = {},
): RouteHandlers {
  if (typeof config !== 'function') return toRouteHandlers(createYatagarasu(config, options), options)

  const logger = options.logger ?? consoleLogger
  let handler: FetchHandler | undefined
  const lazy: FetchHandler = async (request, context) => {
    if (handler === undefined) {
      try {
        handler = createYatagarasu(config(), options)
      } catch (error) {
        // A ConfigError lists field paths only; anything else may quote the config, so only its name.
        const detail = isYatagarasuError(error, 'ConfigError') ? error.message : error instanceof Error ? error.name : typeof error
        logger.error('yatagarasu: the route handler config is invalid', { error: detail })
        return errorResponse(error, crypto.randomUUID(), request.method)
      }
    }
    return handler(request, context)
  }
  return toRouteHandlers(lazy, options)
}

/**
 * Route handlers for a handler you built (`createYatagarasu(config, options)` or your own
 * `compose(...)`). A bare `export const GET = handler` works too; these add the
 * platform's `waitUntil`, the client IP, and on the Edge runtime a URL without the
 * catch-all params Next appends to the query string (`?path=a&path=b` for
 * `[...path]`). Next also drops a client's own query parameter of that name there, so
 * don't name a query token source after the catch-all segment.
 *
 * @example
 * export const { GET, HEAD, OPTIONS } = toRouteHandlers(createYatagarasu({ ...config, basePath: '/api/s3' }))
 */
export function toRouteHandlers(handler: FetchHandler, options: RouteHandlerOptions = {}): RouteHandlers {
  const clientIp = options.clientIp ?? vercelClientIp
  const route: RouteHandler = async function yatagarasuRoute(request, context) {
    if (isEdgeRuntime()) request = withoutRouteParams(request, await routeParamNames(context))
    // Next decodes Content-Encoding (and drops the header): s3Origin then answers a Range
    // of a pre-compressed object with the whole object, in the one pass through the chain.
    const runtime: HandlerContext = { decodesContentEncoding: true }
    const ip = clientIp(request)
    if (ip !== undefined) runtime.clientIp = ip
    const waitUntil = platformWaitUntil()
    if (waitUntil !== undefined) runtime.waitUntil = waitUntil
    return handler(request, runtime)
  }
  return { GET: route, HEAD: route, OPTIONS: route, POST: route, PUT: route, PATCH: route, DELETE: route }
}

type RequestContextCarrier = { get?: () => { waitUntil?: (promise: Promise<unknown>) => void } | undefined }

// Vercel's platform sets the first (it is what `@vercel/functions`' `waitUntil` reads); Next
// sets the second inside its Edge sandbox, also under `next start`.
const REQUEST_CONTEXTS = [Symbol.for('@vercel/request-context'), Symbol.for('@next/request-context')]

/**
 * The platform's `waitUntil` for the current request, if there is one: Vercel's (both
 * runtimes), or Next's Edge sandbox's. Under `next start` on the Node.js runtime there is
 * none, and none is needed: the server process outlives the response.
 */
export function platformWaitUntil(): ((promise: Promise<unknown>) => void) | undefined {
  for (const symbol of REQUEST_CONTEXTS) {
    const context = (globalThis as Record<symbol, RequestContextCarrier | undefined>)[symbol]?.get?.()
    const waitUntil = context?.waitUntil
    if (typeof waitUntil === 'function') return (promise) => waitUntil.call(context, promise)
  }
  return undefined
}

function vercelClientIp(request: Request): string | undefined {
  const onVercel = (globalThis as Record<symbol, unknown>)[REQUEST_CONTEXTS[0]!] !== undefined
  return onVercel ? (request.headers.get('x-real-ip') ?? undefined) : undefined
}

/** Vercel's documented test: the Edge runtime (Next's sandbox, Vercel Edge) defines the global `EdgeRuntime`. */
function isEdgeRuntime(): boolean {
  return typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime === 'string'
}

async function routeParamNames(context: RouteContext | undefined): Promise<string[]> {
  const params = await context?.params
  return params && typeof params === 'object' ? Object.keys(params) : []
}

/**
 * `request` without the query parameters Next's Edge runtime adds: one per dynamic
 * segment, named after it, and any left with Next's internal `nxtP`/`nxtI` prefixes.
 * Other parameters keep their exact spelling. Only what the proxy reads is carried
 * over (method, headers, abort signal); the body is not, as no method with one is served.
 */
export function withoutRouteParams(request: Request, names: readonly string[]): Request {
  const queryStart = request.url.indexOf('?')
  if (queryStart < 0) return request
  const hashStart = request.url.indexOf('#', queryStart)
  const query = request.url.slice(queryStart + 1, hashStart < 0 ? undefined : hashStart)
  const kept = query.split('&').filter((part) => !isNextParam(parameterName(part), names))
  if (kept.length === query.split('&').length) return request
  const url = request.url.slice(0, queryStart) + (kept.length ? `?${kept.join('&')}` : '')
  return new Request(url, { method: request.method, headers: request.headers, signal: request.signal })
}

function isNextParam(name: string | undefined, names: readonly string[]): boolean {
  if (name === undefined) return false
  return names.includes(name) || name.startsWith('nxtP') || name.startsWith('nxtI')
}

function parameterName(part: string): string | undefined {
  const equals = part.indexOf('=')
  const raw = (equals < 0 ? part : part.slice(0, equals)).replace(/\+/g, ' ')
  try {
    return decodeURIComponent(raw)
  } catch {
    return undefined
  }
}
