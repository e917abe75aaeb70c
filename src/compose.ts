import { createContext, type FetchHandler, type Middleware, type RequestContext } from './context.js'
import { errorResponse, NotFoundError } from './errors.js'

/**
 * Chains middlewares into a fetch handler, once. Each middleware receives the
 * request context and a `next` that runs the rest of the chain; the chain's end
 * answers 404.
 *
 * Errors become responses in one place, here: when a middleware throws (or its
 * promise rejects), its error is rendered as the JSON error response right where it
 * was thrown. So `next()` always resolves with a `Response` — the middlewares before
 * it (request id, logging, metrics, CORS, cache labels) see every error as a
 * response — and the handler never throws.
 *
 * @example
 * const handler = compose(requestId(), routing(config), myMiddleware, s3Origin(config))
 * const response = await handler(new Request('http://localhost/cdn/logo.png'))
 */
export function compose(...middlewares: Middleware[]): FetchHandler {
  // A middleware that would only call next() (see passThrough) costs a promise and a
  // dispatch per request for nothing: it is left out.
  const chain = middlewares.filter((middleware) => !passThroughs.has(middleware))
  const end = (ctx: RequestContext) => Promise.resolve(respondWithError(ctx, new NotFoundError('No route for this path')))

  // Not async: dispatch's promise is the handler's, with no other wrapped around it.
  return function handler(request, runtime) {
    let ctx: RequestContext
    try {
      ctx = createContext(request, runtime)
    } catch (error) {
      try {
        return Promise.resolve(errorResponse(error, crypto.randomUUID(), request.method))
      } catch (failure) {
        return Promise.reject(failure)
      }
    }
    return dispatch(chain, ctx, 0, end)
  }
}

/**
 * Chains middlewares into one middleware, whose `next` continues after the last of them.
 * Errors are rendered as in {@link compose}, and pass-through middlewares left out. For a
 * middleware that must run part of the chain more than once (`website`: the fallback
 * document after a missing key), which a plain `next` forbids.
 *
 * @example
 * compose(requestId(), routing(config), jwtAuth(config), website(config, chain(cache(config), s3Origin(config))))
 */
export function chain(...middlewares: Middleware[]): Middleware {
  const list = middlewares.filter((middleware) => !passThroughs.has(middleware))
  return function chained(ctx, next) {
    return dispatch(list, ctx, 0, next)
  }
}

/**
 * Runs `chain[index]` with a `next` for the rest. The promise it returns never rejects.
 * A middleware that hands back the very promise its `next()` returned (it had nothing
 * to do on the way back) gets no rejection handler of its own: that promise is the rest
 * of the chain's, which never rejects, and a handler per middleware and request is a
 * promise and a microtask each for nothing (a cache hit passes through ten of them).
 * A second call's rejection is a new promise, never that one, so it is rendered at the
 * level of the middleware that made it (a `chain` handing it back included).
 */
function dispatch(chain: readonly Middleware[], ctx: RequestContext, index: number, end: (ctx: RequestContext) => Promise<Response>): Promise<Response> {
  const middleware = chain[index]
  if (middleware === undefined) return end(ctx)
  let downstream: Promise<Response> | undefined
  const next = () => {
    // A programming error in the middleware itself: it fails (and is rendered) there.
    if (downstream !== undefined) return Promise.reject(new Error(`next() called twice by middleware #${index}`))
    return (downstream = dispatch(chain, ctx, index + 1, end))
  }
  try {
    const result = middleware(ctx, next)
    if (result === downstream) return result
    return result.then(undefined, (error: unknown) => respondWithError(ctx, error))
  } catch (error) {
    // A middleware that is not an async function may throw before returning its promise.
    return Promise.resolve(respondWithError(ctx, error))
  }
}

const passThroughs = new WeakSet<Middleware>()

/**
 * A middleware that only calls `next()`, which {@link compose} leaves out of its chain:
 * what a built-in middleware returns when its config gives it nothing to do (no bucket
 * with CORS, an IP filter or a rate limit). Used anywhere else, it still passes through.
 */
export function passThrough(): Middleware {
  const middleware: Middleware = (_ctx, next) => next()
  passThroughs.add(middleware)
  return middleware
}

/** The error's JSON response, remembered as made from it (see {@link errorOf}). */
function respondWithError(ctx: RequestContext, error: unknown): Response {
  const response = errorResponse(error, ctx.requestId, ctx.method)
  madeFrom.set(response, error)
  return response
}

const madeFrom = new WeakMap<Response, unknown>()

/**
 * The error a response was rendered from by the dispatcher, or `undefined` for any
 * other response. For the few middlewares whose behaviour depends on what went wrong
 * rather than on the status (the cache's single-flight: a leader whose own client
 * left, or a bug, is no reason for the requests waiting on it to give up).
 */
export function errorOf(response: Response): unknown {
  return madeFrom.get(response)
}
