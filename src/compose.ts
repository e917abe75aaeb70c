import { errorResponse } from './errors.js'
import { createContext, type FetchHandler, type Middleware, type RequestContext } from './context.js'
import { NotFoundError } from './errors.js'

/**
 * Chains middlewares into a fetch handler, once. Each middleware receives the
 * request context and a `next` that runs the rest of the chain; the chain's end
 * answers 404. The handler never throws: an error that escapes every middleware
 * becomes a JSON error response.
 *
 * @example
 * const handler = compose(requestId(), errorMapping(), routing(config), myMiddleware, s3Origin(config))
 * const response = await handler(new Request('http://localhost/cdn/logo.png'))
 */
export function compose(...middlewares: Middleware[]): FetchHandler {
  const chain = [...middlewares]

  function dispatch(ctx: RequestContext, index: number): Promise<Response> {
    const middleware = chain[index]
    if (middleware === undefined) return Promise.reject(new NotFoundError('No route for this path'))
    let called = false
    return middleware(ctx, () => {
      if (called) return Promise.reject(new Error(`next() called twice by middleware #${index}`))
      called = true
      return dispatch(ctx, index + 1)
    })
  }

  return async function handler(request, runtime) {
    let ctx: RequestContext | undefined
    try {
      ctx = createContext(request, runtime)
      return await dispatch(ctx, 0)
    } catch (error) {
      return errorResponse(error, ctx?.requestId ?? crypto.randomUUID(), request.method)
    }
  }
}
