import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { resolveConfig } from '../config/resolve.js'
import type { Middleware, Next, RequestContext } from '../context.js'
import { BadRequestError, NotFoundError } from '../errors.js'
import { findKeyProblem, type KeyProblem } from '../routing/object-key.js'
import { createRouteTable } from '../routing/route-table.js'

const KEY_PROBLEM_MESSAGES: Record<KeyProblem, string> = {
  encoding: 'The path is not valid percent-encoded UTF-8',
  'dot-segment': "The object key must not contain '.' or '..' segments",
  nul: 'The object key must not contain NUL characters',
  'too-long': 'The object key is longer than 1024 bytes',
  backslash: "The path must not contain '\\'",
}

/**
 * Routes a request to a bucket by the longest matching path prefix (after removing
 * `basePath`) and sets `ctx.bucket` and `ctx.key`. Paths that match no bucket, or name
 * no object (`/cdn`, `/cdn/`), are 404 — a bucket listing is never reachable. A raw path
 * (`ctx.rawPath`) holding `\\` or a dot segment in any spelling, and keys that decode to
 * `.`/`..` segments, NUL or invalid UTF-8 are 400.
 *
 * A bucket with `website.indexDocument` serves that document for the bucket root and
 * for keys ending in `/` (`docs/` → `docs/index.html`): the key is completed here,
 * before authentication and the cache, so both see the key that is served.
 */
export function routing(config: YatagarasuConfig | ResolvedConfig): Middleware {
  const table = createRouteTable(resolveConfig(config))
  // Not async: a routed request goes on with no promise of its own; a refusal is a rejection.
  return function routingMiddleware(ctx, next) {
    try {
      return route(ctx, next)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  function route(ctx: RequestContext, next: Next): Promise<Response> {
    const match = table.match(ctx.pathname, ctx.rawPath)
    switch (match.kind) {
      case 'object': {
        ctx.bucket = match.bucket
        const index = match.bucket.website?.indexDocument
        if (index === undefined || !match.key.endsWith('/')) {
          ctx.key = match.key
          return next()
        }
        const key = match.key + index
        const problem = findKeyProblem(key)
        if (problem !== undefined) throw new BadRequestError(KEY_PROBLEM_MESSAGES[problem])
        ctx.key = key
        return next()
      }
      case 'bad-key':
        if (match.bucket) ctx.bucket = match.bucket
        throw new BadRequestError(KEY_PROBLEM_MESSAGES[match.problem])
      case 'empty-key':
        ctx.bucket = match.bucket
        if (match.bucket.website?.indexDocument !== undefined) {
          ctx.key = match.bucket.website.indexDocument
          return next()
        }
        throw new NotFoundError('No object key in the path')
      case 'no-bucket':
        throw new NotFoundError('No bucket is configured for this path')
    }
  }
}
