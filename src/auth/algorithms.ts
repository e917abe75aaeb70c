/** The key an algorithm needs: an HMAC secret, or a public key of a type (and curve). */
export type KeyRequirement =
  | { kind: 'secret'; hash: 'SHA-256' | 'SHA-384' | 'SHA-512'; minBytes: number }
  | { kind: 'public'; kty: 'RSA' | 'EC' | 'OKP'; crv?: string }

// RFC 7518 §3.1, and RFC 9864 for the fully specified `Ed25519`.
const REQUIREMENTS = {
  HS256: { kind: 'secret', hash: 'SHA-256', minBytes: 32 },
  HS384: { kind: 'secret', hash: 'SHA-384', minBytes: 48 },
  HS512: { kind: 'secret', hash: 'SHA-512', minBytes: 64 },
  RS256: { kind: 'public', kty: 'RSA' },
  RS384: { kind: 'public', kty: 'RSA' },
  RS512: { kind: 'public', kty: 'RSA' },
  PS256: { kind: 'public', kty: 'RSA' },
  PS384: { kind: 'public', kty: 'RSA' },
  PS512: { kind: 'public', kty: 'RSA' },
  ES256: { kind: 'public', kty: 'EC', crv: 'P-256' },
  ES384: { kind: 'public', kty: 'EC', crv: 'P-384' },
  ES512: { kind: 'public', kty: 'EC', crv: 'P-521' },
  EdDSA: { kind: 'public', kty: 'OKP', crv: 'Ed25519' },
  Ed25519: { kind: 'public', kty: 'OKP', crv: 'Ed25519' },
} satisfies Record<string, KeyRequirement>

/** The JWS algorithms a bucket can accept (RFC 7518 §3.1; `Ed25519` per RFC 9864). */
export type JwtAlgorithm = keyof typeof REQUIREMENTS

export const ALGORITHMS: Readonly<Record<JwtAlgorithm, KeyRequirement>> = REQUIREMENTS

export const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as JwtAlgorithm[]

export function isJwtAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === 'string' && Object.hasOwn(ALGORITHMS, value)
}

export function isHmac(alg: JwtAlgorithm): boolean {
  return ALGORITHMS[alg].kind === 'secret'
}

/** The algorithm a public key is used with when none is configured. */
export function defaultAlgorithmFor(key: { kty: string; crv?: string }): JwtAlgorithm | undefined {
  if (key.kty === 'RSA') return 'RS256'
  if (key.kty === 'OKP' && key.crv === 'Ed25519') return 'EdDSA'
  if (key.kty === 'EC') {
    if (key.crv === 'P-256') return 'ES256'
    if (key.crv === 'P-384') return 'ES384'
    if (key.crv === 'P-521') return 'ES512'
  }
  return undefined
}

/** `RSA`, `EC P-256`, `OKP Ed25519`: for messages. */
export function describeKey(key: { kty: string; crv?: string }): string {
  return key.crv === undefined ? `an ${key.kty} key` : `an ${key.kty} ${key.crv} key`
}
