import type { Middleware } from '../context.js'
import { MethodNotAllowedError } from '../errors.js'

export const ALLOWED_METHODS = 'GET, HEAD, OPTIONS'

/**
 * The proxy is read-only: GET and HEAD pass, OPTIONS is answered here with 204 and
 * `Allow` (a CORS middleware placed before this one answers preflights), and every
 * other method is 405 before anything reaches S3.
 */
export function readOnly(): Middleware {
  // Not async: a GET goes on with no promise of its own.
  return function readOnlyMiddleware(ctx, next) {
    const method = ctx.method
    if (method === 'GET' || method === 'HEAD') return next()
    if (method === 'OPTIONS') return Promise.resolve(new Response(null, { status: 204, headers: { Allow: ALLOWED_METHODS } }))
    return Promise.reject(
      new MethodNotAllowedError(`Method ${safeMethod(method)} is not allowed; this proxy is read-only`, {
        headers: { Allow: ALLOWED_METHODS },
      }),
    )
  }
}

function safeMethod(method: string): string {
  return /^[A-Z]{1,16}$/.test(method) ? method : 'this'
}
