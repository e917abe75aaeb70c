import { firstFailedRule } from '../auth/claims.js'
import { createVerifier, KeyImportError, type TokenFailure, type TokenVerifier } from '../auth/jwt-verifier.js'
import type { JwksFetch } from '../auth/remote-jwks.js'
import { findToken, MALFORMED, type ResolvedTokenSource } from '../auth/token-sources.js'
import { ANONYMOUS, subjectOf, type AuditLog, type AuditReason } from '../audit/audit-log.js'
import type { ResolvedJwt } from '../config/auth-schema.js'
import { resolveConfig } from '../config/resolve.js'
import type { ResolvedBucket, ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import type { Middleware, Next, RequestContext } from '../context.js'
import { ForbiddenError, UnauthorizedError, type HttpError } from '../errors.js'
import { privateCacheControl } from '../http/cache-control.js'
import { withHeader } from '../http/mutable-response.js'
import { describeError } from '../logging/describe-error.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { redactUrls } from '../logging/redact.js'

export interface JwtAuthOptions {
  /** Receives JWKS fetch failures and key problems (never a token). Default: {@link consoleLogger}. */
  logger?: Logger
  /** The fetch used to get JWKS. Default: the runtime's global fetch. */
  fetch?: JwksFetch
  /** The clock, in milliseconds since the epoch, for `exp`/`nbf` and the JWKS cache. Default `Date.now`. */
  now?: () => number
  /** Receives one entry per decision (allowed or refused); see docs/auth.md#audit-log. Default: none. */
  audit?: AuditLog
}

// Short, fixed texts: the kind of failure, never the token or a claim (RFC 6750 §3).
const DESCRIPTIONS: Record<TokenFailure, string> = {
  malformed: 'malformed token',
  expired: 'token expired',
  'not-yet-valid': 'token not yet valid',
  signature: 'signature invalid',
  algorithm: 'algorithm not allowed',
  issuer: 'issuer not accepted',
  audience: 'audience not accepted',
  'unknown-key': 'signing key not found',
  'keys-unavailable': 'signing keys unavailable',
  invalid: 'token invalid',
}
const NO_TOKEN = 'authentication required'
const CLAIMS_FAILED = 'claim check failed'

// JWS Compact Serialization (RFC 7515 §7.1): three base64url parts. Checked before
// jose so that junk gets a clear "malformed" and huge values cost nothing.
const JWS_COMPACT = /^[\w-]+\.[\w-]+\.[\w-]*$/
const MAX_TOKEN_LENGTH = 16 * 1024

/** A guard's answer: the verified claims, or the refusal to throw and why. */
type Decision =
  | { readonly allowed: true; readonly claims: Record<string, unknown> }
  | { readonly allowed: false; readonly reason: AuditReason; readonly error: HttpError; readonly claims?: Record<string, unknown> }

type Guard = (ctx: RequestContext) => Promise<Decision>

/** A protected bucket: its guard, and whether its answers must stay out of shared caches. */
interface Protection {
  guard: Guard
  private: boolean
}

// The answers that carry the object (or confirm the client's copy of it) and that a shared cache could store.
const PRIVATE_STATUSES = new Set([200, 206, 304])

/**
 * Per-bucket JWT authentication (buckets with an `auth` block; others pass). Runs after
 * `routing` and before the cache and the origin, so nothing is served or fetched for a
 * request that is refused:
 *
 * - no token → 401 with `WWW-Authenticate: Bearer realm="<bucket>"`;
 * - a bad token → 401 with `error="invalid_token"` and a short `error_description`
 *   (`token expired`, `signature invalid`, ...);
 * - valid but failing `claimsVerification` → 403 with `error="insufficient_scope"`.
 *
 * On success the verified claims are on `ctx.claims`, and the 200/206/304 that comes back
 * says `Cache-Control: private` (S3's `max-age` kept, `public` dropped) unless the bucket
 * sets `cacheControl: 'public'`: a shared cache in front must not serve what a token
 * unlocked to someone without one. A token taken from the query
 * string is removed from `ctx.url` before the next middleware runs. Keys are imported
 * once per bucket; a JWKS is fetched lazily, cached, and shared by concurrent requests.
 *
 * @example
 * const config = resolveConfig({ buckets: [{ name: 'private', pathPrefix: '/p', s3,
 *   auth: { jwt: { secret: env.JWT_SECRET, algorithm: 'HS256' } } }] })
 * const handler = compose(requestId(), routing(config), readOnly(),
 *   jwtAuth(config), async (ctx, next) => { console.log(ctx.claims?.sub); return next() }, s3Origin(config))
 */
export function jwtAuth(config: YatagarasuConfig | ResolvedConfig, options: JwtAuthOptions = {}): Middleware {
  const logger = options.logger ?? consoleLogger
  const audit = options.audit
  const protections = new Map<string, Protection>()
  for (const bucket of resolveConfig(config).buckets) {
    if (bucket.auth === undefined) continue
    protections.set(bucket.name, { guard: createGuard(bucket.name, bucket.auth.jwt, options, logger), private: bucket.cacheControl !== 'public' })
  }

  // Not async: an unprotected bucket's request goes on with no promise of its own.
  return function jwtAuthMiddleware(ctx, next) {
    const bucket = ctx.bucket
    // Fail closed: without a routed bucket we can't tell whether the request needs a token.
    if (bucket === undefined) return Promise.reject(new Error('jwtAuth runs after routing'))
    const protection = protections.get(bucket.name)
    if (protection === undefined) {
      if (bucket.auth !== undefined) return Promise.reject(new Error(`jwtAuth was not created with bucket ${bucket.name}`))
      return next()
    }
    return authenticate(ctx, next, bucket, protection)
  }

  async function authenticate(ctx: RequestContext, next: Next, bucket: ResolvedBucket, protection: Protection): Promise<Response> {
    const started = performance.now()
    let decision: Decision
    try {
      decision = await protection.guard(ctx)
    } catch (error) {
      audit?.(auditEntry(ctx, bucket.name, ANONYMOUS, 'deny', 'error'))
      throw error
    }
    ctx.timings.auth = performance.now() - started
    if (audit) {
      audit(auditEntry(ctx, bucket.name, subjectOf(decision.claims), decision.allowed ? 'allow' : 'deny', decision.allowed ? 'token-valid' : decision.reason))
    }
    if (!decision.allowed) throw decision.error
    ctx.claims = decision.claims
    const response = await next()
    if (!protection.private || !PRIVATE_STATUSES.has(response.status)) return response
    return withHeader(response, 'cache-control', privateCacheControl(response.headers.get('cache-control')))
  }
}

function auditEntry(ctx: RequestContext, bucket: string, subject: string, decision: 'allow' | 'deny', reason: AuditReason) {
  return {
    requestId: ctx.requestId,
    method: ctx.method,
    bucket,
    key: ctx.key ?? '',
    subject,
    decision,
    reason,
    ...(ctx.clientIp !== undefined && { clientIp: ctx.clientIp }),
  }
}

function createGuard(bucket: string, jwt: ResolvedJwt, options: JwtAuthOptions, logger: Logger): Guard {
  const realm = `Bearer realm="${quotedStringText(bucket)}"`
  const challenges = Object.fromEntries(
    Object.entries(DESCRIPTIONS).map(([failure, text]) => [
      failure,
      `${realm}, error="invalid_token", error_description="${text}"`,
    ]),
  ) as Record<TokenFailure, string>
  const insufficientScope = `${realm}, error="insufficient_scope", error_description="${CLAIMS_FAILED}"`
  const sources = jwt.tokenSources
  const queryNames = sources.flatMap((source: ResolvedTokenSource) => (source.type === 'query' ? [source.name] : []))
  const rules = jwt.claimsVerification
  const jwksUrlForLogs = jwt.jwksUrl === undefined ? undefined : redactUrls(jwt.jwksUrl)
  let importFailureLogged = false

  warnAboutShortSecret(bucket, jwt, logger)

  const verify: TokenVerifier = createVerifier(jwt, {
    ...(options.fetch && { fetch: options.fetch }),
    ...(options.now && { now: options.now }),
    onFetchError(error, usingStaleKeys) {
      const fields = { bucket, jwksUrl: jwksUrlForLogs, error: describeError(error) }
      if (usingStaleKeys) logger.warn('JWKS refresh failed; still using the keys fetched before', fields)
      else logger.error('JWKS fetch failed; tokens for this bucket are refused until it succeeds', fields)
    },
  })

  return async function guard(ctx) {
    const found = findToken(ctx.request, ctx.url, sources)
    // The token must not travel further in the URL: not to S3, logs or metrics labels.
    for (const name of queryNames) if (ctx.url.searchParams.has(name)) ctx.url.searchParams.delete(name)

    if (found === undefined) {
      return { allowed: false, reason: 'no-token', error: new UnauthorizedError(NO_TOKEN, { headers: { 'WWW-Authenticate': realm } }) }
    }
    if (found === MALFORMED || found.length > MAX_TOKEN_LENGTH || !JWS_COMPACT.test(found)) {
      return invalidToken('malformed')
    }
    let result
    try {
      result = await verify(found, ctx.tracing)
    } catch (error) {
      if (error instanceof KeyImportError && !importFailureLogged) {
        importFailureLogged = true
        logger.error('JWT key import failed', { bucket, error: describeError(error.cause) })
      }
      throw error
    }
    if (!result.ok) {
      logger.debug('token refused', { bucket, requestId: ctx.requestId, reason: result.failure })
      return invalidToken(result.failure)
    }
    if (rules.length > 0) {
      const failed = firstFailedRule(result.claims, rules)
      if (failed >= 0) {
        // The claim's name helps the operator; its value stays out of logs and responses.
        logger.debug('claim check failed', { bucket, requestId: ctx.requestId, rule: failed, claim: rules[failed]!.claim })
        const error = new ForbiddenError(CLAIMS_FAILED, { headers: { 'WWW-Authenticate': insufficientScope } })
        return { allowed: false, reason: 'claims', error, claims: result.claims }
      }
    }
    return { allowed: true, claims: result.claims }
  }

  function invalidToken(failure: TokenFailure): Decision {
    const error = new UnauthorizedError(DESCRIPTIONS[failure], { headers: { 'WWW-Authenticate': challenges[failure] } })
    return { allowed: false, reason: failure, error }
  }
}

/** RFC 7518 §3.2: an HMAC key shorter than the hash output is weak. Warned, not refused, so existing setups keep working. */
function warnAboutShortSecret(bucket: string, jwt: ResolvedJwt, logger: Logger): void {
  if (jwt.secret === undefined) return
  const bytes = new TextEncoder().encode(jwt.secret).byteLength
  const wanted = jwt.algorithms.includes('HS512') ? 64 : jwt.algorithms.includes('HS384') ? 48 : 32
  if (bytes < wanted) {
    logger.warn('JWT secret is shorter than the HMAC hash output (RFC 7518 §3.2); use a longer random secret', {
      bucket,
      secretBytes: bytes,
      recommendedBytes: wanted,
    })
  }
}

/** A quoted-string body (RFC 9110 §5.6.4) from any text: printable ASCII, `"` and `\` escaped. */
function quotedStringText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&')
}
