/**
 * `yatagarasu check`'s summary of a valid config: what will be served and how, with
 * every credential shown as `***` and every URL (JWKS, S3 endpoint, Redis, ...) without
 * its user info and query string.
 */
import type { ResolvedTokenSource } from '../auth/token-sources.js'
import { resolveConfig } from '../config/resolve.js'
import type { ResolvedBucket } from '../config/types.js'
import type { ConfigIssue } from '../errors.js'
import { redactUrls } from '../logging/redact.js'
import type { CacheSettings } from './cache-settings.js'
import type { LoadedConfig } from './config-file.js'

const MASK = '***'

export function summarize(loaded: LoadedConfig): string {
  const resolved = resolveConfig(loaded.config)
  const { settings } = loaded
  const lines: string[] = []
  const count = resolved.buckets.length
  lines.push(`${loaded.path}: valid (${count} bucket${count === 1 ? '' : 's'})`, '')

  const listen = `${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}`
  const ops: string[] = []
  if (settings.health.enabled) ops.push(`health ${settings.health.path}`, `ready ${settings.health.readyPath}`)
  else ops.push('health and ready off')
  if (!settings.metrics.enabled) ops.push('metrics off')
  else if (settings.metrics.port === undefined) ops.push(`metrics ${settings.metrics.path} (same port)`)
  else ops.push(`metrics ${settings.metrics.host}:${settings.metrics.port}${settings.metrics.path}`)
  lines.push(row('server', `listen ${listen}; ${ops.join(', ')}; shutdown timeout ${settings.shutdownTimeoutMs / 1000} s`))
  const { limits } = settings
  const perSocket = limits.maxRequestsPerSocket === 0 ? 'unlimited' : String(limits.maxRequestsPerSocket)
  lines.push(
    row(
      'limits',
      `request timeout ${limits.requestTimeout} s, ${limits.maxConcurrentRequests} concurrent requests, keep-alive ${limits.keepAliveTimeout} s, ${perSocket} requests per connection`,
    ),
  )
  lines.push(row('logging', `${settings.logging.level}, ${settings.logging.format}`))
  const audit = settings.auditLog
  lines.push(row('audit log', !audit.enabled ? 'off' : audit.output === 'file' ? `file ${audit.filePath}` : audit.output))
  if (settings.cache) lines.push(row('cache', cacheLayers(settings.cache)))
  const store = settings.rateLimitStore
  if (store.kind === 'redis') lines.push(row('rate store', `redis ${redis(store)}`))
  if (resolved.basePath) lines.push(row('base path', resolved.basePath))
  if (resolved.rateLimiting) lines.push(row('rate limit', rate(resolved.rateLimiting)))
  lines.push('')

  const width = Math.max(...resolved.buckets.map((b) => b.name.length))
  for (const bucket of resolved.buckets) {
    lines.push(`bucket ${bucket.name.padEnd(width)}  ${bucket.pathPrefix || '/'}`)
    for (const [label, text] of describeBucket(bucket)) lines.push(`  ${label.padEnd(8)} ${text}`)
  }
  // Over the whole text, not per field: a URL a later line adds can't be missed.
  return `${redactUrls(lines.join('\n'))}\n`
}

function describeBucket(bucket: ResolvedBucket): Array<[string, string]> {
  const out: Array<[string, string]> = []
  const { s3 } = bucket
  const several = s3.targets.length > 1 || s3.targets[0]?.name !== 'default'
  for (const target of s3.targets) {
    const where = target.endpoint ?? 'AWS'
    const credentials =
      target.credentials !== undefined
        ? `credentials from ${typeof target.credentials === 'function' ? 'a provider function' : `the ${target.credentials.provider} provider`}`
        : `access key ${MASK}, secret key ${MASK}${target.sessionToken !== undefined ? `, session token ${MASK}` : ''}`
    const name = several ? `${target.name} (priority ${target.priority}): ` : ''
    out.push(['s3', `${name}bucket ${target.bucket}, ${target.region}, ${where}; ${credentials}; timeout ${target.timeoutMs / 1000} s`])
  }
  const extras: string[] = [`idle timeout ${s3.idleTimeoutMs / 1000} s`, `retries ${s3.retries}`]
  if (s3.circuitBreaker) extras.push(`circuit breaker after ${s3.circuitBreaker.failureThreshold} failures`)
  out.push(['', extras.join(', ')])

  const auth = bucket.auth
  if (auth === undefined) out.push(['auth', 'none (public)'])
  else {
    const jwt = auth.jwt
    const key = jwt.secret !== undefined ? `secret ${MASK}` : jwt.jwksUrl !== undefined ? `JWKS ${redactUrls(jwt.jwksUrl)}` : 'public key'
    const rules = jwt.claimsVerification.length
    out.push([
      'auth',
      `JWT ${jwt.algorithms.join('/')} (${key}); token from ${jwt.tokenSources.map(source).join(', ')}` +
        (rules > 0 ? `; ${rules} claim rule${rules === 1 ? '' : 's'}` : ''),
    ])
  }
  const cache = bucket.cache
  out.push(['cache', cache === undefined ? 'off (streamed from S3)' : `ttl ${cache.ttl} s, max ${size(cache.maxSize)}, items up to ${size(cache.maxItemSize)}`])
  if (bucket.cors) out.push(['cors', bucket.cors.allowedOrigins.join(', ')])
  if (bucket.ipFilter) {
    const parts = [...(bucket.ipFilter.allow ? [`allow ${bucket.ipFilter.allow.join(', ')}`] : []), ...(bucket.ipFilter.deny.length ? [`deny ${bucket.ipFilter.deny.join(', ')}`] : [])]
    out.push(['ip filter', parts.join('; ')])
  }
  if (bucket.rateLimiting === false) out.push(['rate', 'off for this bucket'])
  else if (bucket.rateLimiting) out.push(['rate', rate(bucket.rateLimiting)])
  return out
}

function source(token: ResolvedTokenSource): string {
  switch (token.type) {
    case 'bearer':
      return 'Authorization: Bearer'
    case 'header':
      return token.prefix ? `${token.name}: ${token.prefix.text}` : token.name
    case 'query':
      return `?${token.name}=`
  }
}

function cacheLayers(cache: CacheSettings): string {
  const layers = cache.layers.map((layer) => {
    switch (layer) {
      case 'memory':
        return `memory ${size(cache.memory.maxSize)}, items up to ${size(cache.memory.maxItemSize)}`
      case 'disk':
        return `disk ${cache.disk?.directory ?? ''} ${size(cache.disk?.maxSize ?? 0)}`
      case 'redis':
        return `redis ${cache.redis ? redis(cache.redis) : ''}`
    }
  })
  return `layers ${layers.join(' -> ')}`
}

/** Where a Redis is, never how to log in: the URL's user info goes in the final pass, the password field here. */
function redis(settings: { url: string; password?: string; database: number; keyPrefix: string }): string {
  return `${redactUrls(settings.url)} db ${settings.database}, prefix ${settings.keyPrefix}${settings.password !== undefined ? `, password ${MASK}` : ''}`
}

function rate(limit: { requestsPerSecond: number; burstSize: number; key: string }): string {
  return `${limit.requestsPerSecond}/s, burst ${limit.burstSize}, per ${limit.key}`
}

/** Bytes in the config's units (powers of 1024). */
export function size(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024
    unit++
  }
  return `${value}${units[unit]}`
}

function row(label: string, text: string): string {
  return `${label.padEnd(10)} ${text}`
}

/** `  path (line N): message` lines, for errors and warnings. */
export function formatIssues(issues: readonly ConfigIssue[], prefix: string): string {
  return issues
    .map((issue) => `${prefix}${issue.path || '(root)'}${issue.line !== undefined ? ` (line ${issue.line})` : ''}: ${issue.message}`)
    .join('\n')
}
