import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { resolveConfig } from '../config/resolve.js'
import type { Middleware, RequestContext } from '../context.js'
import {
  BadGatewayError,
  ForbiddenError,
  HttpError,
  NotFoundError,
  PreconditionFailedError,
  RangeNotSatisfiableError,
} from '../errors.js'
import { forwardedRequestHeaders, objectResponseHeaders } from '../s3/object-headers.js'
import { createS3Client, type FetchFunction, type S3Client } from '../s3/s3-client.js'

export interface S3OriginOptions {
  /**
   * The fetch used to reach S3. It must not decode `Content-Encoding` (Node's global
   * fetch gunzips bodies while keeping the header, which corrupts pre-compressed
   * objects); the Node adapter provides one that doesn't, per request. Default:
   * the runtime's `originFetch` from the handler context, else `globalThis.fetch`.
   */
  fetch?: FetchFunction
}

/**
 * The end of the chain: signs the request for the routed bucket, sends it to S3 and
 * streams S3's answer back. The body is handed through as the same stream — never
 * buffered or copied — so the first byte leaves as soon as S3 sends it, and a client
 * that goes away (request signal aborted, response body cancelled) cancels the S3
 * transfer. S3's errors become the proxy's JSON errors; nothing of S3's own error
 * (XML, request ids, bucket, endpoint) reaches the client.
 */
export function s3Origin(config: YatagarasuConfig | ResolvedConfig, options: S3OriginOptions = {}): Middleware {
  const clients = new Map<string, S3Client>()
  for (const bucket of resolveConfig(config).buckets) clients.set(bucket.name, createS3Client(bucket.s3))

  return async function s3OriginMiddleware(ctx) {
    const client = ctx.bucket && clients.get(ctx.bucket.name)
    if (!client || ctx.key === undefined) throw new NotFoundError('No bucket is configured for this path')
    const method = ctx.method === 'HEAD' ? 'HEAD' : 'GET'
    const started = performance.now()
    const s3Response = await client.send(
      { method, key: ctx.key, headers: forwardedRequestHeaders(ctx.request.headers), signal: ctx.request.signal },
      options.fetch ?? ctx.originFetch ?? globalFetch,
    )
    ctx.timings.s3 = performance.now() - started
    return toClientResponse(s3Response, ctx)
  }
}

const globalFetch: FetchFunction = (input, init) => fetch(input, init)

function toClientResponse(s3: Response, ctx: RequestContext): Response {
  const status = s3.status
  if (status === 200 || status === 206) {
    const headers = objectResponseHeaders(s3.headers)
    return new Response(ctx.method === 'HEAD' ? null : s3.body, { status, headers })
  }
  discardBody(s3)
  if (status === 304) return new Response(null, { status, headers: objectResponseHeaders(s3.headers) })
  throw s3Error(s3)
}

function s3Error(s3: Response): HttpError {
  switch (s3.status) {
    case 404:
      return new NotFoundError('The object does not exist')
    case 403:
      return new ForbiddenError('Access to the object is denied')
    case 412:
      return new PreconditionFailedError('A precondition of the request did not hold')
    case 416: {
      const contentRange = s3.headers.get('content-range')
      return new RangeNotSatisfiableError('The requested range is not satisfiable', {
        ...(contentRange !== null && { headers: { 'Content-Range': contentRange } }),
      })
    }
    default:
      // 5xx, and anything S3 should never say to a well-formed signed GET (redirects
      // for a wrong region, 400s for a bad signature): a problem behind the proxy.
      return new BadGatewayError('The storage backend failed to serve the object')
  }
}

/** Frees the connection of an S3 error response; its XML must not reach the client. */
function discardBody(response: Response): void {
  response.body?.cancel().catch(() => {})
}
