import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { resolveConfig } from '../config/resolve.js'
import type { Middleware } from '../context.js'
import { isHttpError } from '../errors.js'

/**
 * The fallback document of single-page apps: when S3 reports a GET's or HEAD's key
 * missing (404) on a bucket with `website.fallbackDocument`, that document is served
 * instead — status 200 (or what it answers: 206, 304), its own headers — by running
 * `origin` (the rest of the pipeline: cache and S3) once more for it. The fallback is
 * cached under its own key, like any object; the 404 before it is not. Index documents
 * are routing's job (see {@link routing}); both stay inside the routed bucket, and
 * this middleware belongs after authentication, like the cache it wraps.
 *
 * @example
 * compose(requestId(), routing(config), readOnly(), jwtAuth(config), website(config, chain(cache(config), s3Origin(config))))
 */
export function website(config: YatagarasuConfig | ResolvedConfig, origin: Middleware): Middleware {
  const withFallback = new Set(resolveConfig(config).buckets.flatMap((bucket) => (bucket.website?.fallbackDocument ? [bucket.name] : [])))

  return async function websiteMiddleware(ctx, next) {
    const fallback = ctx.bucket && withFallback.has(ctx.bucket.name) ? ctx.bucket.website?.fallbackDocument : undefined
    if (fallback === undefined || ctx.key === fallback || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return origin(ctx, next)
    let response: Response
    try {
      response = await origin(ctx, next)
    } catch (error) {
      if (!isHttpError(error) || error.status !== 404) throw error
      return serveFallback()
    }
    if (response.status !== 404) return response
    response.body?.cancel().catch(() => {})
    return serveFallback()

    function serveFallback(): Promise<Response> {
      ctx.key = fallback
      delete ctx.cacheStatus
      return origin(ctx, next)
    }
  }
}
