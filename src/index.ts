export { createYatagarasu, type YatagarasuOptions } from './create-yatagarasu.js'
export { compose } from './compose.js'
export type { CacheStatus, FetchHandler, HandlerContext, Middleware, Next, RequestContext } from './context.js'
export { requestId, type RequestIdOptions } from './middleware/request-id.js'
export { errorMapping } from './middleware/error-mapping.js'
export { routing } from './middleware/routing.js'
export { readOnly, ALLOWED_METHODS } from './middleware/read-only.js'
export { s3Origin, type S3OriginOptions } from './middleware/s3-origin.js'
export type { FetchFunction } from './s3/s3-client.js'
export { consoleLogger, silentLogger, type Logger } from './logger.js'
export { resolveConfig } from './config/resolve.js'
export { parseSize } from './config/size.js'
export type {
  BucketConfig,
  ResolvedBucket,
  ResolvedConfig,
  ResolvedS3,
  S3Config,
  YatagarasuConfig,
} from './config/types.js'
export {
  BadGatewayError,
  BadRequestError,
  ClientClosedRequestError,
  ConfigError,
  errorResponse,
  ForbiddenError,
  GatewayTimeoutError,
  HttpError,
  MethodNotAllowedError,
  NotFoundError,
  PreconditionFailedError,
  RangeNotSatisfiableError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  YatagarasuError,
  type ConfigIssue,
} from './errors.js'
