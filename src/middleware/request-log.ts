import type { Middleware, RequestContext } from '../context.js'
import { observeBody, type BodyOutcome } from '../http/observe-body.js'
import type { Logger } from '../logging/logger.js'

export interface RequestLogOptions {
  /** The entry's message. Default `request`. */
  message?: string
}

const MAX_TEXT = 1024

/**
 * Logs one entry per request once its response body has ended (so `bytes` and
 * `durationMs` cover the whole transfer): `requestId`, `method`, `path` (the raw target
 * as received, before normalisation, so `/a/..\b` is logged as sent; never its query
 * string: tokens and signatures live there),
 * `bucket` and `key` when a bucket matched, `status`, `bytes`, `durationMs`, `s3Ms`,
 * `cache`, `user` (the token's `sub`, when authenticated), `clientIp`, `userAgent`, and
 * `outcome` (`completed`, `cancelled` when the client left, `errored`). No other request
 * header is logged. Place it early: errors reach it as responses, and a request no
 * bucket matched can still be traced by its path.
 *
 * @example
 * const logger = lineLogger({ format: 'json' })
 * compose(requestId(), requestLog(logger), routing(config), s3Origin(config))
 */
export function requestLog(logger: Logger, options: RequestLogOptions = {}): Middleware {
  const message = options.message ?? 'request'
  return async function requestLogMiddleware(ctx, next) {
    const response = await next()
    const status = response.status
    return observeBody(response, {
      onEnd: (bytes, outcome) => logger.info(message, fields(ctx, status, bytes, outcome)),
    })
  }
}

function fields(ctx: RequestContext, status: number, bytes: number, outcome: BodyOutcome): Record<string, unknown> {
  const sub = ctx.claims?.sub
  const s3 = ctx.timings.s3
  const userAgent = ctx.request.headers.get('user-agent')
  return {
    requestId: ctx.requestId,
    method: ctx.method,
    path: clip(pathOf(ctx.rawPath)),
    ...(ctx.bucket !== undefined ? { bucket: ctx.bucket.name } : {}),
    ...(ctx.key !== undefined ? { key: clip(ctx.key) } : {}),
    status,
    bytes,
    durationMs: round(performance.now() - ctx.startTime),
    ...(s3 !== undefined ? { s3Ms: round(s3) } : {}),
    ...(ctx.cacheStatus !== undefined ? { cache: ctx.cacheStatus } : {}),
    ...(typeof sub === 'string' ? { user: clip(sub) } : {}),
    ...(ctx.clientIp !== undefined ? { clientIp: ctx.clientIp } : {}),
    ...(userAgent !== null ? { userAgent: clip(userAgent) } : {}),
    outcome,
  }
}

/** The raw target without its query (or a fragment a client should not have sent). */
function pathOf(rawPath: string): string {
  const end = rawPath.search(/[?#]/)
  return end === -1 ? rawPath : rawPath.slice(0, end)
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text
}
