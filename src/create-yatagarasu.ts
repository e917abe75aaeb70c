import { compose } from './compose.js'
import { resolveConfig } from './config/resolve.js'
import type { YatagarasuConfig } from './config/types.js'
import type { FetchHandler } from './context.js'
import { cache } from './middleware/cache.js'
import { errorMapping } from './middleware/error-mapping.js'
import { jwtAuth } from './middleware/jwt-auth.js'
import { readOnly } from './middleware/read-only.js'
import { requestId } from './middleware/request-id.js'
import { routing } from './middleware/routing.js'
import { consoleLogger, type Logger } from './logger.js'
import { s3Origin, type S3OriginOptions } from './middleware/s3-origin.js'

export interface YatagarasuOptions {
  /** See {@link S3OriginOptions.fetch}. */
  fetch?: S3OriginOptions['fetch']
  /** Receives what clients must not see (JWKS and cache store failures, ...). Default: {@link consoleLogger}. */
  logger?: Logger
}

/**
 * Creates the S3 proxy: a Web-standard `(Request, context?) => Promise<Response>`.
 * The config is validated once, here; a problem throws a `ConfigError` naming every
 * offending field. Two handlers share nothing.
 *
 * The preset pipeline is `requestId → errorMapping → routing → readOnly → jwtAuth →
 * cache → s3Origin`;
 * build your own with {@link compose} and the same middlewares.
 *
 * @example
 * const handler = createYatagarasu({
 *   buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3: { bucket: 'assets', region: 'us-east-1', accessKey, secretKey } }],
 * })
 * Bun.serve({ fetch: handler })
 */
export function createYatagarasu(config: YatagarasuConfig, options: YatagarasuOptions = {}): FetchHandler {
  const resolved = resolveConfig(config)
  const logger = options.logger ?? consoleLogger
  return compose(
    requestId(),
    errorMapping(),
    routing(resolved),
    readOnly(),
    jwtAuth(resolved, { logger }),
    cache(resolved, { logger }),
    s3Origin(resolved, options.fetch ? { fetch: options.fetch } : {}),
  )
}
