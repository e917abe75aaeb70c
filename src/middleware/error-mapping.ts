import type { Middleware } from '../context.js'
import { errorResponse } from '../errors.js'

/**
 * Turns errors thrown by the middlewares after it into JSON error responses, so the
 * middlewares before it (request id, logging, metrics, CORS) see a `Response` for
 * every request. `HttpError`s keep their status and message; anything else is a 500
 * that reveals nothing of the original error.
 */
export function errorMapping(): Middleware {
  return async function errorMappingMiddleware(ctx, next) {
    try {
      return await next()
    } catch (error) {
      return errorResponse(error, ctx.requestId, ctx.method)
    }
  }
}
