import type { ResolvedRedirect } from '../config/redirect-schema.js'
import type { ResolvedConfig, ResolvedS3Connection, YatagarasuConfig } from '../config/types.js'
import { resolveConfig } from '../config/resolve.js'
import type { Middleware, Next, RequestContext } from '../context.js'
import type { Logger } from '../logging/logger.js'
import { bucketCredentials } from '../s3/bucket-credentials.js'
import type { CredentialsRuntime } from '../s3/credential-providers.js'
import type { CredentialsSource } from '../s3/credentials.js'
import { objectUrl, objectUrlBase } from '../s3/object-url.js'
import { forCurrentCredentials, type FetchFunction } from '../s3/s3-client.js'
import { createS3Presigner, type S3Presigner } from '../s3/sigv4.js'
import { createTargetPool, type TargetPool } from '../s3/target-pool.js'
import { globalFetch, s3Error, type S3OriginOptions } from './s3-origin.js'

export interface RedirectOptions {
  /** The fetch for the size check (HEAD); see {@link S3OriginOptions.fetch}. Default: the runtime's `originFetch`, else `globalThis.fetch`. */
  fetch?: FetchFunction
  /** The clock presigned URLs are dated by, in milliseconds since the epoch. Default: `Date.now`. */
  now?: () => number
  /** Receives circuit breaker changes of the size check's S3 targets and failed credential refreshes. Default: none. */
  logger?: Logger
  /** What the built-in `s3.credentials` providers read; see {@link S3OriginOptions.credentialsRuntime}. */
  credentialsRuntime?: CredentialsRuntime
}

interface BucketRedirect {
  readonly settings: ResolvedRedirect
  /** The presigner for the primary target's keys, or for the current refreshing credentials. */
  readonly presigner: () => Promise<S3Presigner>
  readonly urlBase: string
  /** Present when `minSize` > 0: the HEAD that finds the object's size. */
  readonly pool?: TargetPool
}

/**
 * Presigned redirects (per bucket, `redirect`): instead of streaming the object, answer
 * `307` with `Location:` a presigned S3 URL for the same method and key, valid for
 * `expiresSeconds`, so large downloads leave the proxy's bandwidth. Only the routed key
 * is signed — the client's query string and headers never go into the URL; `Range` and
 * conditional headers the client sends after the redirect are answered by S3. The 307
 * says `Cache-Control: no-store` and is never cached by the proxy (`X-Cache: BYPASS`).
 *
 * With `minSize`, a HEAD to S3 finds the object's size first; smaller objects go on
 * down the pipeline (cache, S3) as usual, a missing one is 404. The URL is signed for
 * the bucket's primary target. Place it after authentication and authorization: the
 * URL grants access to the object to whoever holds it, until it expires.
 */
export function redirect(config: YatagarasuConfig | ResolvedConfig, options: RedirectOptions = {}): Middleware {
  const buckets = new Map<string, BucketRedirect>()
  for (const bucket of resolveConfig(config).buckets) {
    if (bucket.redirect === undefined) continue
    buckets.set(bucket.name, {
      settings: bucket.redirect,
      presigner: targetPresigner(
        bucket.s3,
        bucket.s3.credentials !== undefined ? bucketCredentials(bucket.s3, { bucket: bucket.name, logger: options.logger, credentialsRuntime: options.credentialsRuntime }) : undefined,
        options.now,
      ),
      urlBase: objectUrlBase(bucket.s3),
      ...(bucket.redirect.minSize > 0 && {
        pool: createTargetPool(bucket.s3, {
          bucket: bucket.name,
          ...(options.logger && { logger: options.logger }),
          ...(options.credentialsRuntime && { credentialsRuntime: options.credentialsRuntime }),
        }),
      }),
    })
  }

  // Not async: a request to another bucket goes on with no promise of its own.
  return function redirectMiddleware(ctx, next) {
    const target = ctx.bucket && buckets.get(ctx.bucket.name)
    // An image transform needs the object here; other methods never reach S3 at all.
    if (target === undefined || ctx.key === undefined || ctx.image !== undefined || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next()
    return redirectTo(ctx, next, target, ctx.key)
  }

  async function redirectTo(ctx: RequestContext, next: Next, target: BucketRedirect, key: string): Promise<Response> {
    if (target.pool !== undefined) {
      const started = performance.now()
      const { response } = await target.pool.send(
        { method: 'HEAD', key, headers: new Headers(), signal: ctx.request.signal },
        options.fetch ?? ctx.originFetch ?? globalFetch,
      )
      ctx.timings.s3 = performance.now() - started
      response.body?.cancel().catch(() => {})
      if (response.status !== 200) throw s3Error(response)
      const size = Number(response.headers.get('content-length') ?? Number.NaN)
      // Unknown size: stream it as usual.
      if (!(size >= target.settings.minSize)) return next()
    }
    const presign = await target.presigner()
    const location = presign(ctx.method, new URL(objectUrl(target.urlBase, key)), target.settings.expiresSeconds)
    ctx.cacheStatus = 'BYPASS'
    return new Response(null, {
      status: 307,
      headers: { location: location.href, 'cache-control': 'no-store', 'x-cache': 'BYPASS' },
    })
  }
}

/**
 * A presigner for the primary target: its own keys, or the bucket's refreshing
 * credentials current at each request (the URL then carries their session token, and
 * S3 stops honouring it when that session expires, even before `expiresSeconds`).
 */
function targetPresigner(config: ResolvedS3Connection, credentials: CredentialsSource | undefined, now?: () => number): () => Promise<S3Presigner> {
  return forCurrentCredentials(config, credentials, (keys) => createS3Presigner(keys, now))
}
