import { resolveConfig } from '../config/resolve.js'
import type { IpFilterConfig, ResolvedIpFilter } from '../config/reliability-schema.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { ANONYMOUS, type AuditLog } from '../audit/audit-log.js'
import type { Middleware } from '../context.js'
import { passThrough } from '../compose.js'
import { ForbiddenError } from '../errors.js'
import { inAnyRange, parseCidr, parseIp, type IpRange } from '../net/ip-address.js'

export interface IpFilterOptions {
  /** Receives an entry (`deny`, reason `ip-filter`) for each refused request; see docs/auth.md#audit-log. Default: none. */
  audit?: AuditLog
}

/**
 * Per-bucket IP allow and deny lists (`buckets[].ipFilter`), checked against
 * `ctx.clientIp` right after routing, before authentication and S3: a refused
 * address gets 403. Buckets without a filter cost one map lookup.
 */
export function ipFilter(config: YatagarasuConfig | ResolvedConfig, options: IpFilterOptions = {}): Middleware {
  const audit = options.audit
  const filters = new Map<string, (clientIp: string | undefined) => boolean>()
  for (const bucket of resolveConfig(config).buckets) {
    if (bucket.ipFilter) filters.set(bucket.name, createIpFilter(bucket.ipFilter))
  }
  if (filters.size === 0) {
    return passThrough()
  }
  return async function ipFilterMiddleware(ctx, next) {
    const allows = ctx.bucket && filters.get(ctx.bucket.name)
    if (allows && !allows(ctx.clientIp)) {
      audit?.({
        requestId: ctx.requestId,
        method: ctx.method,
        bucket: ctx.bucket!.name,
        key: ctx.key ?? '',
        subject: ANONYMOUS,
        decision: 'deny',
        reason: 'ip-filter',
        ...(ctx.clientIp !== undefined && { clientIp: ctx.clientIp }),
      })
      throw new ForbiddenError('Access from this address is not allowed')
    }
    return next()
  }
}

/**
 * Compiles allow/deny lists into a predicate on a client IP (IPv4, IPv6, or
 * IPv4-mapped IPv6 — `::ffff:10.1.2.3` is `10.1.2.3`):
 *
 * - an address in `deny` is refused, whatever `allow` says (deny wins);
 * - with an `allow` list, an address not in it is refused;
 * - an unknown client IP (no `clientIp`, or not an address) is refused when there is
 *   an `allow` list — it can't be shown to be in it — and allowed otherwise, since
 *   it can't be shown to be in `deny` either.
 *
 * @example
 * const allows = createIpFilter({ allow: ['10.0.0.0/8'], deny: ['10.6.6.0/24'] })
 * allows('10.1.2.3') // true
 * allows('10.6.6.1') // false
 */
export function createIpFilter(filter: IpFilterConfig | ResolvedIpFilter): (clientIp: string | undefined) => boolean {
  const allow = filter.allow && filter.allow.map(toRange)
  const deny = (filter.deny ?? []).map(toRange)
  return function allows(clientIp) {
    const address = clientIp === undefined ? undefined : parseIp(clientIp)
    if (address === undefined) return allow === undefined
    if (deny.length > 0 && inAnyRange(address, deny)) return false
    return allow === undefined || inAnyRange(address, allow)
  }
}

function toRange(cidr: string): IpRange {
  const range = parseCidr(cidr.trim())
  // The config schema refused bad ranges already; this guards direct callers.
  if (range === undefined) throw new TypeError('ipFilter: not an IP address or CIDR range')
  return range
}
