import { resolveConfig } from '../config/resolve.js'
import type { ResolvedCors } from '../config/reliability-schema.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import type { Middleware } from '../context.js'
import { passThrough } from '../compose.js'
import { withHeaders } from '../http/mutable-response.js'
import { createRouteTable } from '../routing/route-table.js'
import { ALLOWED_METHODS } from './read-only.js'

interface CorsPolicy {
  isAllowedOrigin(origin: string): boolean
  /** `*` (any origin, no credentials) or `undefined` (echo the request's origin). */
  readonly fixedOrigin: '*' | undefined
  readonly allowCredentials: boolean
  readonly allowedMethods: ReadonlySet<string>
  readonly allowMethodsHeader: string
  /** `undefined` when `'*'` is configured: the requested headers are echoed. */
  readonly allowHeadersHeader: string | undefined
  readonly exposeHeadersHeader: string
  readonly maxAge: string | undefined
}

/**
 * CORS per bucket (`buckets[].cors`; Fetch standard, "CORS protocol").
 *
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) for a
 *   bucket with CORS is answered here, without S3 or authentication (browsers send
 *   preflights without credentials): 204 with the `Access-Control-Allow-*` headers
 *   when the origin and method are allowed, 204 with none of them otherwise.
 * - Every other response of such a bucket — errors included (401, 403, 404, 429, 5xx)
 *   — gets `Vary: Origin` and, for an
 *   allowed origin, `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers`,
 *   so a page can read why a request failed.
 *
 * Place it before routing: it reads the bucket routing sets, even when routing then
 * refuses the key. Buckets without CORS cost one map lookup; with no CORS anywhere
 * the middleware is a pass-through.
 */
export function cors(config: YatagarasuConfig | ResolvedConfig): Middleware {
  const resolved = resolveConfig(config)
  const policies = new Map<string, CorsPolicy>()
  for (const bucket of resolved.buckets) if (bucket.cors) policies.set(bucket.name, compilePolicy(bucket.cors))
  if (policies.size === 0) {
    return passThrough()
  }
  // Preflights are answered before routing runs, so they are routed here (the same
  // table, built once); other requests read `ctx.bucket` afterwards.
  const table = createRouteTable(resolved)

  return async function corsMiddleware(ctx, next) {
    const headers = ctx.request.headers
    const origin = headers.get('origin')
    if (ctx.method === 'OPTIONS' && origin !== null) {
      const requestedMethod = headers.get('access-control-request-method')
      if (requestedMethod !== null) {
        const match = table.match(ctx.pathname, ctx.rawPath)
        const policy = match.kind === 'no-bucket' || match.bucket === undefined ? undefined : policies.get(match.bucket.name)
        if (policy) return preflight(policy, origin, requestedMethod, headers.get('access-control-request-headers'))
      }
    }
    const response = await next()
    const policy = ctx.bucket && policies.get(ctx.bucket.name)
    return policy ? decorate(response, policy, origin) : response
  }
}

function preflight(policy: CorsPolicy, origin: string, method: string, requestedHeaders: string | null): Response {
  const headers = new Headers({
    Allow: ALLOWED_METHODS,
    Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  })
  if (policy.isAllowedOrigin(origin) && policy.allowedMethods.has(method)) {
    headers.set('Access-Control-Allow-Origin', policy.fixedOrigin ?? origin)
    if (policy.allowCredentials) headers.set('Access-Control-Allow-Credentials', 'true')
    headers.set('Access-Control-Allow-Methods', policy.allowMethodsHeader)
    const allowHeaders = policy.allowHeadersHeader ?? requestedHeaders
    if (allowHeaders) headers.set('Access-Control-Allow-Headers', allowHeaders)
    if (policy.maxAge !== undefined) headers.set('Access-Control-Max-Age', policy.maxAge)
  }
  return new Response(null, { status: 204, headers })
}

function decorate(response: Response, policy: CorsPolicy, origin: string | null): Response {
  const allowed = origin !== null && policy.isAllowedOrigin(origin)
  return withHeaders(response, (headers) => {
    const vary = headers.get('vary')
    if (vary === null) headers.set('Vary', 'Origin')
    else if (!/(^|,)\s*(origin|\*)\s*(,|$)/i.test(vary)) headers.set('Vary', `${vary}, Origin`)
    if (!allowed) return
    headers.set('Access-Control-Allow-Origin', policy.fixedOrigin ?? origin)
    if (policy.allowCredentials) headers.set('Access-Control-Allow-Credentials', 'true')
    if (policy.exposeHeadersHeader) headers.set('Access-Control-Expose-Headers', policy.exposeHeadersHeader)
  })
}

function compilePolicy(config: ResolvedCors): CorsPolicy {
  const anyOrigin = config.allowedOrigins.includes('*')
  const exact = new Set(config.allowedOrigins.filter((o) => !o.includes('*')))
  const patterns = config.allowedOrigins.filter((o) => o !== '*' && o.includes('*'))
  // `*` stands for one or more DNS labels: it can't reach across `:`, `/` or `@`, so
  // `https://*.example.com` never matches `https://evil.com/.example.com`.
  const pattern =
    patterns.length === 0
      ? undefined
      : new RegExp(`^(?:${patterns.map((p) => p.split('*').map(escapeRegExp).join('[a-z0-9-]+(?:\\.[a-z0-9-]+)*')).join('|')})$`)
  const allowsHeaders = config.allowedHeaders.includes('*')
  return {
    isAllowedOrigin(origin) {
      if (anyOrigin) return true
      const lower = origin.toLowerCase()
      return exact.has(lower) || (pattern !== undefined && pattern.test(lower))
    },
    // With credentials the Fetch standard forbids `*`; config validation refuses
    // that combination, and wildcard patterns echo the matched origin.
    fixedOrigin: anyOrigin && !config.allowCredentials ? '*' : undefined,
    allowCredentials: config.allowCredentials,
    allowedMethods: new Set(config.allowedMethods),
    allowMethodsHeader: config.allowedMethods.join(', '),
    allowHeadersHeader: allowsHeaders ? undefined : config.allowedHeaders.join(', '),
    exposeHeadersHeader: config.exposedHeaders.join(', '),
    maxAge: config.maxAge === undefined ? undefined : String(config.maxAge),
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
