import type { Middleware } from '../context.js'

/**
 * @deprecated Does nothing, and will be removed before 1.0: {@link compose} itself turns
 * an error thrown by any middleware into its JSON error response, so every middleware
 * receives a `Response` from `next()`. Kept so that pipelines written with it still
 * build.
 */
export function errorMapping(): Middleware {
  return function errorMappingMiddleware(_ctx, next) {
    return next()
  }
}
