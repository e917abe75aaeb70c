import { resolveConfig } from '../config/resolve.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import type { Middleware, RequestContext } from '../context.js'
import { headerBytes } from '../http/header-size.js'
import { BadRequestError, RequestHeaderFieldsTooLargeError, UriTooLongError, type HttpError } from '../errors.js'

const NO_BODY = /^\s*0+\s*$/

/**
 * Refuses requests whose shape alone is abusive, before routing or anything else
 * runs and long before S3: a request target longer than `limits.maxUrlLength`
 * (414, RFC 9110 §15.5.15), more header bytes than `limits.maxHeaderSize` (431,
 * RFC 6585 §5), and a GET or HEAD that announces a body (400): such a body has no
 * meaning (RFC 9110 §9.3.1) and is a classic request-smuggling vector between
 * proxies that disagree on where the request ends. (Object keys over S3's 1024-byte
 * limit are refused by routing.)
 */
export function limits(config: YatagarasuConfig | ResolvedConfig): Middleware {
  const { maxUrlLength, maxHeaderSize } = resolveConfig(config).limits
  // Not async: a request within the limits goes on with no promise of its own.
  return function limitsMiddleware(ctx, next) {
    const refusal = refusalOf(ctx)
    return refusal === undefined ? next() : Promise.reject(refusal)
  }

  function refusalOf(ctx: RequestContext): HttpError | undefined {
    if (ctx.rawPath.length > maxUrlLength) return new UriTooLongError('The request URL is too long')
    const headers = ctx.request.headers
    // Counted as on the wire: `name: value\r\n`.
    if (headerBytes(headers) > maxHeaderSize) return new RequestHeaderFieldsTooLargeError('The request headers are too large')
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      const length = headers.get('content-length')
      if (headers.has('transfer-encoding') || (length !== null && !NO_BODY.test(length))) {
        return new BadRequestError('A GET or HEAD request must not have a body')
      }
    }
    return undefined
  }
}
