import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import type { Middleware } from '../context.js'
import type { Logger } from '../logger.js'

/** TODO(auth issue): per-bucket JWT verification. Pass-through until then (auth config is refused). */
export function jwtAuth(_config: YatagarasuConfig | ResolvedConfig, _options: { logger?: Logger } = {}): Middleware {
  return async function jwtAuthMiddleware(_ctx, next) {
    return next()
  }
}
