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
import { ALGORITHM_NAMES, ALGORITHMS, defaultAlgorithmFor, describeKey, isHmac, isJwtAlgorithm } from '../auth/algorithms.js'
import type { ResolvedClaimRule } from '../auth/claims.js'
import { inspectSpkiPem, type SpkiProblem } from '../auth/spki.js'
import { toPrefix, type ResolvedTokenSource } from '../auth/token-sources.js'
import type { ClaimValue, JwtAlgorithm, PublicJwk } from './auth-types.js'
import { maskSecretsInJson } from './secrets.js'

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

export type ResolvedPublicKey =
  | { readonly format: 'spki'; readonly pem: string; readonly kty: string; readonly crv?: string }
  | { readonly format: 'jwk'; readonly jwk: PublicJwk; readonly kty: string; readonly crv?: string }

const DEFAULT_CLOCK_TOLERANCE = 5
const MIN_RSA_BITS = 2048
const ALGORITHM_LIST = ALGORITHM_NAMES.join(', ')

const nonEmpty = v.pipe(v.string(), v.minLength(1, 'must not be empty'))
const stringOrList = v.union(
  [nonEmpty, v.pipe(v.array(nonEmpty), v.minLength(1, 'must not be empty'))],
  'expected a string or a list of strings',
)
const algorithmSchema = v.picklist(ALGORITHM_NAMES, `must be one of ${ALGORITHM_LIST}`)

// RFC 9110 §5.1: a field name is a token.
const headerName = v.pipe(nonEmpty, v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid header name'))

const tokenSourceSchema = v.variant(
  'type',
  [
    v.object({ type: v.literal('bearer') }),
    v.object({ type: v.literal('header'), name: headerName, prefix: v.optional(v.string()) }),
    v.object({ type: v.literal('query'), name: v.optional(nonEmpty) }),
  ],
  "must be 'bearer', 'header' or 'query'",
)

const claimRuleSchema = v.pipe(
  v.object({
    claim: nonEmpty,
    operator: v.picklist(['equals', 'contains', 'in', 'gt', 'lt'], 'must be one of equals, contains, in, gt, lt'),
    value: v.unknown(),
  }),
  v.rawTransform(({ dataset, addIssue, NEVER }): ResolvedClaimRule => {
    const { claim, operator, value } = dataset.value
    const problem = claimValueProblem(operator, value)
    if (problem !== undefined) {
      addIssue({ message: problem, path: [pathItem(dataset.value, 'value', value)] })
      return NEVER
    }
    return { claim, path: claim.split('.'), operator, value: value as ClaimValue | ClaimValue[] }
  }),
)

const jwtObjectSchema = v.object({
  secret: v.optional(nonEmpty),
  publicKey: v.optional(v.unknown()),
  jwksUrl: v.optional(
    v.pipe(v.string(), v.check(isJwksUrl, 'must be an absolute http(s) URL without credentials or fragment')),
  ),
  algorithm: v.optional(algorithmSchema),
  algorithms: v.optional(v.pipe(v.array(algorithmSchema), v.minLength(1, 'must not be empty'))),
  issuer: v.optional(stringOrList),
  audience: v.optional(stringOrList),
  clockTolerance: v.optional(
    v.pipe(v.number(), v.check((n) => Number.isFinite(n) && n >= 0, 'must be a number of seconds, 0 or more')),
  ),
  tokenSources: v.optional(
    v.pipe(v.array(tokenSourceSchema), v.minLength(1, 'at least one token source is required')),
  ),
  claimsVerification: v.optional(v.array(claimRuleSchema)),
})

type JwtInput = v.InferOutput<typeof jwtObjectSchema>

const jwtSchema = v.pipe(
  jwtObjectSchema,
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const input = dataset.value
    let failed = false
    const issue = (key: keyof JwtInput | undefined, message: string) => {
      failed = true
      addIssue(key === undefined ? { message } : { message, path: [pathItem(input, key, input[key])] })
    }
    const resolved = resolveJwt(input, issue)
    return failed || resolved === undefined ? NEVER : resolved
  }),
)

/** `enabled: false` makes the bucket public and its `jwt` block is not looked at. */
export const authSchema = v.variant(
  'enabled',
  [
    v.object({ enabled: v.literal(false), jwt: v.optional(v.unknown()) }),
    v.object({ enabled: v.optional(v.literal(true)), jwt: jwtSchema }),
  ],
  'expected a boolean',
)

export type AuthSchemaOutput = v.InferOutput<typeof authSchema>

/** The resolved auth of a bucket, or `undefined` for a public one. */
export function resolveAuth(input: AuthSchemaOutput | undefined): ResolvedAuth | undefined {
  if (input === undefined || input.enabled === false) return undefined
  return { jwt: input.jwt }
}

type Issue = (key: keyof JwtInput | undefined, message: string) => void

function resolveJwt(input: JwtInput, issue: Issue): ResolvedJwt | undefined {
  const publicKey = input.publicKey === undefined ? undefined : readPublicKey(input.publicKey, (m) => issue('publicKey', m))
  if (input.publicKey !== undefined && publicKey === undefined) return undefined

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
    claimsVerification: input.claimsVerification ?? [],
  }
  return maskSecretsInJson(resolved, ['secret'])
}

/**
 * The accepted algorithms: as configured, else the obvious one for the key — HS256 for
 * a secret, the key's own for a public key (RS256 for RSA, ES256/384/512 by curve,
 * EdDSA for Ed25519, a JWK's `alg`), RS256 for a JWKS (the algorithm every OpenID
 * provider must support, OIDC Discovery §3).
 */
function configuredAlgorithms(input: JwtInput, publicKey: ResolvedPublicKey | undefined, issue: Issue) {
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

const SPKI_PROBLEMS: Record<SpkiProblem, string> = {
  'not-pem': 'expected an SPKI PEM (-----BEGIN PUBLIC KEY-----) or a JWK (object or JSON text)',
  'private-key': 'is a private key; give the public key (SPKI PEM or public JWK)',
  pkcs1: 'is a PKCS#1 RSA key (BEGIN RSA PUBLIC KEY); convert it to SPKI (BEGIN PUBLIC KEY)',
  certificate: 'is a certificate; give its public key as SPKI PEM (BEGIN PUBLIC KEY)',
  malformed: 'is not a well-formed SPKI public key',
  'rsa-pss': 'RSASSA-PSS-restricted keys are not supported; give the key as a plain RSA (rsaEncryption) public key',
  'unsupported-curve': 'uses an unsupported elliptic curve (P-256, P-384 and P-521 are supported)',
  'unsupported-type': 'has an unsupported key type (RSA, EC P-256/P-384/P-521 and Ed25519 are supported)',
}

// JWK members that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

function readPublicKey(value: unknown, problem: (message: string) => void): ResolvedPublicKey | undefined {
  if (typeof value === 'string' && !value.trimStart().startsWith('{')) {
    if (value.trim() === '') return void problem('must not be empty')
    const info = inspectSpkiPem(value)
    if (typeof info === 'string') return void problem(SPKI_PROBLEMS[info])
    if (info.modulusBits !== undefined && info.modulusBits < MIN_RSA_BITS) {
      return void problem(`RSA keys must have at least ${MIN_RSA_BITS} bits`)
    }
    return { format: 'spki', pem: value.trim(), kty: info.kty, ...(info.crv !== undefined && { crv: info.crv }) }
  }
  let jwk: unknown = value
  if (typeof value === 'string') {
    try {
      jwk = JSON.parse(value)
    } catch {
      return void problem('is not valid JSON')
    }
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    return void problem('expected an SPKI PEM (-----BEGIN PUBLIC KEY-----) or a JWK (object or JSON text)')
  }
  const key = jwk as Record<string, unknown>
  if (key.kty === 'oct') return void problem('is a symmetric JWK; use secret for HS256/HS384/HS512')
  if (PRIVATE_MEMBERS.some((member) => key[member] !== undefined)) {
    return void problem('is a private JWK; give the public key only')
  }
  const jwkProblem = publicJwkProblem(key)
  if (jwkProblem !== undefined) return void problem(jwkProblem)
  if (key.alg !== undefined && !isJwtAlgorithm(key.alg)) return void problem(`alg: must be one of ${ALGORITHM_LIST}`)
  if (key.use !== undefined && key.use !== 'sig') return void problem("the JWK's use is not 'sig'")
  const crv = typeof key.crv === 'string' ? key.crv : undefined
  return { format: 'jwk', jwk: { ...key, kty: key.kty as string }, kty: key.kty as string, ...(crv !== undefined && { crv }) }
}

function publicJwkProblem(key: Record<string, unknown>): string | undefined {
  const isB64url = (member: string) => typeof key[member] === 'string' && /^[A-Za-z0-9_-]+$/.test(key[member] as string)
  switch (key.kty) {
    case 'RSA':
      if (!isB64url('n') || !isB64url('e')) return 'an RSA JWK needs n and e'
      if (base64urlBits(key.n as string) < MIN_RSA_BITS) return `RSA keys must have at least ${MIN_RSA_BITS} bits`
      return undefined
    case 'EC':
      if (!['P-256', 'P-384', 'P-521'].includes(key.crv as string)) return 'an EC JWK needs crv P-256, P-384 or P-521'
      return isB64url('x') && isB64url('y') ? undefined : 'an EC JWK needs x and y'
    case 'OKP':
      if (key.crv !== 'Ed25519') return 'an OKP JWK needs crv Ed25519'
      return isB64url('x') ? undefined : 'an OKP JWK needs x'
    default:
      return 'kty: must be RSA, EC or OKP'
  }
}

/** Bit length of a base64url-encoded big-endian unsigned integer (an RSA modulus). */
function base64urlBits(text: string): number {
  let bytes: string
  try {
    bytes = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  } catch {
    return 0
  }
  let first = 0
  while (first < bytes.length && bytes.charCodeAt(first) === 0) first++
  if (first === bytes.length) return 0
  return (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes.charCodeAt(first)))
}

function resolveTokenSource(source: NonNullable<JwtInput['tokenSources']>[number]): ResolvedTokenSource {
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

function claimValueProblem(operator: ResolvedClaimRule['operator'], value: unknown): string | undefined {
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

function isJwksUrl(value: string): boolean {
  if (!URL.canParse(value)) return false
  const url = new URL(value)
  return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && !url.hash
}

function pathItem(input: unknown, key: string, value: unknown): v.ObjectPathItem {
  return { type: 'object', origin: 'value', input: input as Record<string, unknown>, key, value }
}
