import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import type { Middleware } from '../context.js'
import type { Logger } from '../logger.js'

/** TODO(cache issue): the cache decision logic. Pass-through until then (cache config is refused). */
export function cache(_config: YatagarasuConfig | ResolvedConfig, _options: { logger?: Logger } = {}): Middleware {
  return async function cacheMiddleware(_ctx, next) {
    return next()
  }
}
