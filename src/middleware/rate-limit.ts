import { resolveConfig } from '../config/resolve.js'
import type { ResolvedRateLimit } from '../config/reliability-schema.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import type { Middleware, RequestContext } from '../context.js'
import { passThrough } from '../compose.js'
import { TooManyRequestsError } from '../errors.js'
import type { Logger } from '../logging/logger.js'
import { throttledWarn } from '../logging/throttled-warn.js'
import { memoryRateLimitStore, type RateLimitStore } from '../stores/rate-limit-store.js'

export interface RateLimitOptions {
  /** Where the token buckets live. Default: this process's memory ({@link memoryRateLimitStore}). */
  store?: RateLimitStore
  /** Told when the store fails (requests are then let through). */
  logger?: Logger
  /**
   * Enforce only the limits keyed this way. Default: all. The preset pipeline uses two
   * instances sharing one store: `['ip', 'global']` before authentication — so a flood
   * of bad tokens is limited before any signature is checked — and `['user']` after it,
   * where the subject is known.
   */
  keys?: ReadonlyArray<ResolvedRateLimit['key']>
}

/**
 * Token-bucket rate limiting (`rateLimiting`, top level and per bucket): a request
 * takes one token from its bucket, buckets refill at `requestsPerSecond` up to
 * `burstSize`, and a request finding its bucket empty is refused with 429 and
 * `Retry-After` (whole seconds until a token is back, at least 1).
 *
 * Whose bucket (`key`): `ip` — per `ctx.clientIp` (IPv4-mapped IPv6 counts as its
 * IPv4 address; requests without a known IP share one `unknown` bucket); `user` — per
 * JWT subject (`ctx.claims.sub`; anonymous requests fall back to their IP); `global` —
 * one bucket for everyone. The top-level limit's buckets are shared by every bucket it
 * applies to; a bucket with its own `rateLimiting` counts separately.
 *
 * Place it after routing and before the cache (cache hits count); a `user` limit must
 * run after authentication (see {@link RateLimitOptions.keys}). If the store fails, the
 * request is let through (fail open) and the failure logged.
 */
export function rateLimit(config: YatagarasuConfig | ResolvedConfig, options: RateLimitOptions = {}): Middleware {
  const resolved = resolveConfig(config)
  const keys = new Set(options.keys ?? ['ip', 'user', 'global'])
  const limits = new Map<string, { rule: ResolvedRateLimit; namespace: string }>()
  for (const bucket of resolved.buckets) {
    if (bucket.rateLimiting === false) continue
    const limit = bucket.rateLimiting
      ? { rule: bucket.rateLimiting, namespace: `b:${encodeURIComponent(bucket.name)}` }
      : resolved.rateLimiting && { rule: resolved.rateLimiting, namespace: '*' }
    if (limit && keys.has(limit.rule.key)) limits.set(bucket.name, limit)
  }
  if (limits.size === 0) {
    return passThrough()
  }
  const store = options.store ?? memoryRateLimitStore()
  // A failing store is reported once, then at most every 10 s.
  const warn = throttledWarn(options.logger)

  return async function rateLimitMiddleware(ctx, next) {
    const limit = ctx.bucket && limits.get(ctx.bucket.name)
    if (!limit) return next()
    const key = `${limit.namespace}:${clientKey(limit.rule.key, ctx)}`
    let decision
    try {
      decision = await store.consume(key, limit.rule)
    } catch (error) {
      warn('rate limit store failed; letting requests through', { error: error instanceof Error ? error.name : 'Error' })
      return next()
    }
    if (!decision.allowed) {
      throw new TooManyRequestsError('Too many requests; retry later', {
        headers: { 'Retry-After': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) },
      })
    }
    return next()
  }
}

function clientKey(kind: ResolvedRateLimit['key'], ctx: RequestContext): string {
  if (kind === 'global') return 'global'
  if (kind === 'user') {
    const sub = ctx.claims?.sub
    if (typeof sub === 'string' && sub !== '') return `user:${sub}`
  }
  return `ip:${normalizeIp(ctx.clientIp)}`
}

/** `::ffff:10.1.2.3` (an IPv4 client of a dual-stack server) is the same client as `10.1.2.3`. */
function normalizeIp(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown'
  return ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:' && ip.includes('.') ? ip.slice(7) : ip
}
