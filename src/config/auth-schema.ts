/**
 * Schema and resolution of a bucket's `auth` block. Everything that can be known
 * without importing a key is checked here, at creation: the key source fits the
 * algorithms (a secret for HS*, a public key or JWKS for the others), a PEM or JWK is
 * of a type that can verify them, and claim rules are well formed. Keys are imported
 * later, once, by the jwtAuth middleware (Web Crypto import is async).
 *
 * Messages never contain the values given: the secret, keys and claim values stay out
 * of `ConfigError`s.
 */
import * as v from 'valibot'
import { ALGORITHM_NAMES, ALGORITHMS, defaultAlgorithmFor, describeKey, isHmac, isJwtAlgorithm, type JwtAlgorithm } from '../auth/algorithms.js'
import type { ResolvedClaimRule } from '../auth/claims.js'
import { readPublicKey, type PublicJwk, type ResolvedPublicKey } from '../auth/public-key.js'
import { toPrefix, type ResolvedTokenSource } from '../auth/token-sources.js'
import { httpUrl, numberField } from './fields.js'
import { fieldPath } from './issues.js'
import { maskSecretsInJson } from './secrets.js'

export type { PublicJwk, ResolvedPublicKey }

export type ClaimValue = string | number | boolean

/** A bucket's auth after validation. A bucket with `auth` resolved is protected; public buckets have none. */
export interface ResolvedAuth {
  readonly jwt: ResolvedJwt
}

export interface ResolvedJwt {
  /** Exactly the accepted algorithms (configured, or inferred from the key; see docs/auth.md). */
  readonly algorithms: readonly JwtAlgorithm[]
  /** Printed as `***` by `JSON.stringify`. */
  readonly secret?: string
  readonly publicKey?: ResolvedPublicKey
  readonly jwksUrl?: string
  readonly issuer?: readonly string[]
  readonly audience?: readonly string[]
  /** Seconds. */
  readonly clockTolerance: number
  readonly tokenSources: readonly ResolvedTokenSource[]
  readonly claimsVerification: readonly ResolvedClaimRule[]
}

const DEFAULT_CLOCK_TOLERANCE = 5
const ALGORITHM_LIST = ALGORITHM_NAMES.join(', ')

const nonEmpty = v.pipe(v.string(), v.minLength(1, 'must not be empty'))
const stringOrList = v.union([nonEmpty, v.pipe(v.array(nonEmpty), v.minLength(1, 'must not be empty'))], 'expected a string or a list of strings')
const algorithmSchema = v.picklist(ALGORITHM_NAMES, `must be one of ${ALGORITHM_LIST}`)

// RFC 9110 §5.1: a field name is a token.
const headerName = v.pipe(nonEmpty, v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid header name'))

/** Where a token is looked for. */
const tokenSourceSchema = v.variant(
  'type',
  [
    /** `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 7235 §2.1). */
    v.object({ type: v.literal('bearer') }),
    /** The whole value of header `name`, or what follows `prefix` (matched case-insensitively). */
    v.object({ type: v.literal('header'), name: headerName, prefix: v.optional(v.string()) }),
    /** Query parameter `name` (default `token`); removed from `ctx.url` before anything else sees it. */
    v.object({ type: v.literal('query'), name: v.optional(nonEmpty) }),
  ],
  "must be 'bearer', 'header' or 'query'",
)

/**
 * A rule on one claim. `claim` is a dotted path (`realm_access.roles`); a claim whose
 * name itself contains dots (`https://example.com/roles`) is found too. `equals`: the
 * claim is exactly `value`; `contains`: an array with `value` as a member, or a string
 * containing it; `in`: one of `value` (an array); `gt` / `lt`: a number greater / less
 * than `value`. A missing claim fails its rule.
 */
const claimRuleSchema = v.pipe(
  v.object({
    claim: nonEmpty,
    operator: v.picklist(['equals', 'contains', 'in', 'gt', 'lt'], 'must be one of equals, contains, in, gt, lt'),
    value: v.custom<ClaimValue | ClaimValue[]>(() => true),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return
    const problem = claimValueProblem(dataset.value.operator, dataset.value.value)
    if (problem !== undefined) addIssue({ message: problem, path: [fieldPath(dataset.value, 'value')] })
  }),
)

const jwtObjectSchema = v.object({
  /** Shared secret for HS256/HS384/HS512 (its UTF-8 bytes are the HMAC key). */
  secret: v.optional(nonEmpty),
  /** Public key for RS*, PS*, ES* and EdDSA: an SPKI PEM (`-----BEGIN PUBLIC KEY-----`) or a public JWK (an object or its JSON text). */
  publicKey: v.optional(v.custom<string | PublicJwk>(() => true)),
  /** A JSON Web Key Set URL (an OIDC provider's `jwks_uri`), fetched lazily and cached. */
  jwksUrl: v.optional(httpUrl('must be an absolute http(s) URL without credentials or fragment', { query: true })),
  /** The one accepted algorithm. Give either this or `algorithms`. */
  algorithm: v.optional(algorithmSchema),
  /** The accepted algorithms; anything else (and `none`) is refused. */
  algorithms: v.optional(v.pipe(v.array(algorithmSchema), v.minLength(1, 'must not be empty'))),
  /** Accepted `iss` value(s); when set, tokens without `iss` are refused. */
  issuer: v.optional(stringOrList),
  /** Accepted `aud` value(s); a token is accepted when one of its audiences is listed. */
  audience: v.optional(stringOrList),
  /** Seconds of leeway for `exp` and `nbf`. Default `5`. */
  clockTolerance: v.optional(numberField({ min: 0, unit: 'seconds' })),
  /** Where the token is looked for, in order. Default `[{ type: 'bearer' }]`. */
  tokenSources: v.optional(v.pipe(v.array(tokenSourceSchema), v.minLength(1, 'at least one token source is required'))),
  /** Rules on the verified claims; all must hold, else 403. */
  claimsVerification: v.optional(v.array(claimRuleSchema)),
})

export type JwtConfig = v.InferOutput<typeof jwtObjectSchema>
export type TokenSource = v.InferOutput<typeof tokenSourceSchema>
export type ClaimRule = v.InferOutput<typeof claimRuleSchema>
export type ClaimOperator = ClaimRule['operator']

/**
 * Per-bucket authentication. A bucket without an `auth` block, or with `enabled: false`,
 * is public (and its `jwt` block is not looked at).
 *
 * @example
 * auth: { jwt: { secret: process.env.JWT_SECRET!, algorithm: 'HS256' } }
 */
export const authSchema = v.variant(
  'enabled',
  [
    v.object({ enabled: v.literal(false), jwt: v.optional(v.unknown()) }),
    v.object({
      enabled: v.optional(v.literal(true)),
      jwt: v.pipe(
        jwtObjectSchema,
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed || dataset.issues) return
          const input = dataset.value
          resolveJwt(input, (key, message) => addIssue(key === undefined ? { message } : { message, path: [fieldPath(input, key)] }))
        }),
      ),
    }),
  ],
  'expected a boolean',
)

export type AuthConfig = v.InferOutput<typeof authSchema>

/** The resolved auth of a bucket, or `undefined` for a public one. */
export function resolveAuth(input: AuthConfig | undefined): ResolvedAuth | undefined {
  if (input === undefined || input.enabled === false) return undefined
  return { jwt: resolveJwt(input.jwt, () => {})! }
}

type Issue = (key: keyof JwtConfig | undefined, message: string) => void

function resolveJwt(input: JwtConfig, issue: Issue): ResolvedJwt | undefined {
  const read = input.publicKey === undefined ? undefined : readPublicKey(input.publicKey)
  if (typeof read === 'string') return void issue('publicKey', read)
  const publicKey = read

  if (input.secret === undefined && input.publicKey === undefined && input.jwksUrl === undefined) {
    issue(undefined, 'one of secret, publicKey or jwksUrl is required')
    return undefined
  }
  if (input.publicKey !== undefined && input.jwksUrl !== undefined) {
    issue('jwksUrl', 'give either publicKey or jwksUrl, not both')
  }
  if (input.algorithm !== undefined && input.algorithms !== undefined) {
    issue('algorithms', 'give either algorithm or algorithms, not both')
    return undefined
  }

  const algorithms = configuredAlgorithms(input, publicKey, issue)
  if (algorithms === undefined) return undefined
  const algorithmField = input.algorithms !== undefined ? 'algorithms' : 'algorithm'
  const hmac = algorithms.filter(isHmac)
  const asymmetric = algorithms.filter((alg) => !isHmac(alg))

  if (hmac.length > 0 && input.secret === undefined) {
    issue(algorithmField, `${hmac.join(', ')} needs a secret`)
  }
  if (hmac.length === 0 && input.secret !== undefined) {
    issue('secret', 'is only used by HS256, HS384 and HS512, and none of them is accepted')
  }
  if (asymmetric.length > 0 && input.publicKey === undefined && input.jwksUrl === undefined) {
    issue(algorithmField, `${asymmetric.join(', ')} needs a publicKey or a jwksUrl`)
  }
  if (asymmetric.length === 0) {
    if (input.publicKey !== undefined) issue('publicKey', 'is only used by asymmetric algorithms, and none of them is accepted')
    if (input.jwksUrl !== undefined) issue('jwksUrl', 'is only used by asymmetric algorithms, and none of them is accepted')
  }
  if (publicKey !== undefined) {
    for (const alg of asymmetric) {
      const needed = ALGORITHMS[alg]
      if (needed.kind !== 'public') continue
      if (needed.kty !== publicKey.kty || (needed.crv !== undefined && needed.crv !== publicKey.crv)) {
        issue('publicKey', `${describeKey(publicKey)} cannot verify ${alg}`)
      } else if (publicKey.format === 'jwk' && isJwtAlgorithm(publicKey.jwk.alg) && publicKey.jwk.alg !== alg) {
        // RFC 7517 §4.4: the key is meant for its `alg` only.
        issue('publicKey', `the JWK is for ${publicKey.jwk.alg} and cannot verify ${alg}`)
      }
    }
  }

  const resolved: ResolvedJwt = {
    algorithms,
    ...(input.secret !== undefined && { secret: input.secret }),
    ...(publicKey !== undefined && { publicKey }),
    ...(input.jwksUrl !== undefined && { jwksUrl: input.jwksUrl }),
    ...(input.issuer !== undefined && { issuer: toList(input.issuer) }),
    ...(input.audience !== undefined && { audience: toList(input.audience) }),
    clockTolerance: input.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE,
    tokenSources: (input.tokenSources ?? [{ type: 'bearer' }]).map(resolveTokenSource),
    claimsVerification: (input.claimsVerification ?? []).map(({ claim, operator, value }) => ({ claim, path: claim.split('.'), operator, value })),
  }
  return maskSecretsInJson(resolved, ['secret'])
}

/**
 * The accepted algorithms: as configured, else the obvious one for the key — HS256 for
 * a secret, the key's own for a public key (RS256 for RSA, ES256/384/512 by curve,
 * EdDSA for Ed25519, a JWK's `alg`), RS256 for a JWKS (the algorithm every OpenID
 * provider must support, OIDC Discovery §3).
 */
function configuredAlgorithms(input: JwtConfig, publicKey: ResolvedPublicKey | undefined, issue: Issue) {
  if (input.algorithms !== undefined) return [...new Set(input.algorithms)]
  if (input.algorithm !== undefined) return [input.algorithm]
  const sources = [input.secret, input.publicKey, input.jwksUrl].filter((s) => s !== undefined).length
  if (sources > 1) {
    issue('algorithms', 'required when more than one of secret, publicKey and jwksUrl is given')
    return undefined
  }
  if (input.secret !== undefined) return ['HS256' as const]
  if (publicKey !== undefined) {
    const own = publicKey.format === 'jwk' && isJwtAlgorithm(publicKey.jwk.alg) ? publicKey.jwk.alg : defaultAlgorithmFor(publicKey)
    if (own === undefined) {
      issue('algorithm', 'required for this key')
      return undefined
    }
    return [own]
  }
  return ['RS256' as const]
}

function resolveTokenSource(source: TokenSource): ResolvedTokenSource {
  switch (source.type) {
    case 'bearer':
      return { type: 'bearer' }
    case 'header': {
      const prefix = source.prefix === undefined ? undefined : toPrefix(source.prefix)
      return { type: 'header', name: source.name.toLowerCase(), ...(prefix !== undefined && { prefix }) }
    }
    case 'query':
      return { type: 'query', name: source.name ?? 'token' }
  }
}

function claimValueProblem(operator: ClaimOperator, value: unknown): string | undefined {
  if (value === undefined) return 'required'
  switch (operator) {
    case 'equals':
    case 'contains':
      return isClaimValue(value) ? undefined : `must be a string, number or boolean for '${operator}'`
    case 'in':
      return Array.isArray(value) && value.length > 0 && value.every(isClaimValue)
        ? undefined
        : "must be a non-empty list of strings, numbers or booleans for 'in'"
    case 'gt':
    case 'lt':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `must be a number for '${operator}'`
  }
}

function isClaimValue(value: unknown): value is ClaimValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))
}

function toList(value: string | string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value
}
