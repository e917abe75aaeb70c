import type { Middleware } from '../context.js'
import { withHeader } from '../http/mutable-response.js'

export interface RequestIdOptions {
  /**
   * Reuse a valid incoming `X-Request-ID` (from a load balancer or the client) so one
   * id follows the request through every hop. Default `true`.
   */
  trustIncoming?: boolean
}

// Short and plain, so a hostile id can't inject log lines or header garbage.
const VALID_ID = /^[\w.:-]{1,128}$/

/**
 * Gives each request an id (`ctx.requestId`) and returns it in `X-Request-ID` on every
 * response, errors included.
 */
export function requestId(options: RequestIdOptions = {}): Middleware {
  const trustIncoming = options.trustIncoming ?? true
  return function requestIdMiddleware(ctx, next) {
    if (trustIncoming) {
      const incoming = ctx.request.headers.get('x-request-id')
      if (incoming !== null && VALID_ID.test(incoming)) ctx.requestId = incoming
    }
    // A then, not an async function: one promise instead of three on every request.
    return next().then((response) => withHeader(response, 'X-Request-ID', ctx.requestId))
  }
}
