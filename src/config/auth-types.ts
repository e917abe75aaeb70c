/**
 * The `auth` block of a bucket, as users write it (camelCase; YAML uses the snake_case
 * form: `jwks_url`, `public_key`, `clock_tolerance`, `token_sources`,
 * `claims_verification`).
 */

/** The JWS algorithms a bucket can accept (RFC 7518 §3.1; `Ed25519` per RFC 9864). */
export type JwtAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519'

/**
 * Per-bucket authentication. A bucket without an `auth` block, or with
 * `enabled: false`, is public.
 *
 * @example
 * auth: { jwt: { secret: process.env.JWT_SECRET!, algorithm: 'HS256' } }
 */
export interface AuthConfig {
  /** Default `true` when the block exists. `false` makes the bucket public (and `jwt` is then ignored). */
  enabled?: boolean
  /** Required unless `enabled` is `false`. */
  jwt?: JwtConfig
}

export interface JwtConfig {
  /** Shared secret for HS256/HS384/HS512 (its UTF-8 bytes are the HMAC key). */
  secret?: string
  /**
   * Public key for RS*, PS*, ES* and EdDSA: an SPKI PEM (`-----BEGIN PUBLIC KEY-----`)
   * or a public JWK (an object or its JSON text).
   */
  publicKey?: string | PublicJwk
  /** A JSON Web Key Set URL (an OIDC provider's `jwks_uri`), fetched lazily and cached. */
  jwksUrl?: string
  /** The one accepted algorithm. Give either this or `algorithms`. */
  algorithm?: JwtAlgorithm
  /** The accepted algorithms; anything else (and `none`) is refused. */
  algorithms?: JwtAlgorithm[]
  /** Accepted `iss` value(s); when set, tokens without `iss` are refused. */
  issuer?: string | string[]
  /** Accepted `aud` value(s); a token is accepted when one of its audiences is listed. */
  audience?: string | string[]
  /** Seconds of leeway for `exp` and `nbf`. Default `5`. */
  clockTolerance?: number
  /** Where the token is looked for, in order. Default `[{ type: 'bearer' }]`. */
  tokenSources?: TokenSource[]
  /** Rules on the verified claims; all must hold, else 403. */
  claimsVerification?: ClaimRule[]
}

/** A public JSON Web Key (RFC 7517). */
export interface PublicJwk {
  kty: string
  [member: string]: unknown
}

export type TokenSource =
  /** `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 7235 §2.1). */
  | { type: 'bearer' }
  /** The whole value of header `name`, or what follows `prefix` (matched case-insensitively). */
  | { type: 'header'; name: string; prefix?: string }
  /** Query parameter `name` (default `token`); removed from `ctx.url` before anything else sees it. */
  | { type: 'query'; name?: string }

export type ClaimOperator = 'equals' | 'contains' | 'in' | 'gt' | 'lt'

export type ClaimValue = string | number | boolean

/**
 * A rule on one claim. `claim` is a dotted path (`realm_access.roles`); a claim whose
 * name itself contains dots (`https://example.com/roles`) is found too.
 *
 * - `equals`: the claim is exactly `value`.
 * - `contains`: the claim is an array with `value` as a member, or a string containing `value`.
 * - `in`: the claim is one of `value` (an array).
 * - `gt` / `lt`: the claim is a number greater / less than `value` (a number).
 *
 * A missing claim fails its rule.
 */
export interface ClaimRule {
  claim: string
  operator: ClaimOperator
  value: ClaimValue | ClaimValue[]
}
