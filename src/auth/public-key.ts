/** Public keys for JWT verification: what a configured key is, and whether it is usable. */
import { ALGORITHM_NAMES, isJwtAlgorithm } from './algorithms.js'
import { inspectSpkiPem, type SpkiProblem } from './spki.js'

/** A public JSON Web Key (RFC 7517). */
export interface PublicJwk {
  kty: string
  [member: string]: unknown
}

export type ResolvedPublicKey =
  | { readonly format: 'spki'; readonly pem: string; readonly kty: string; readonly crv?: string }
  | { readonly format: 'jwk'; readonly jwk: PublicJwk; readonly kty: string; readonly crv?: string }

const MIN_RSA_BITS = 2048

const SPKI_PROBLEMS: Record<SpkiProblem, string> = {
  'not-pem': 'expected an SPKI PEM (-----BEGIN PUBLIC KEY-----) or a JWK (object or JSON text)',
  'private-key': 'is a private key; give the public key (SPKI PEM or public JWK)',
  pkcs1: 'is a PKCS#1 RSA key (BEGIN RSA PUBLIC KEY); convert it to SPKI (BEGIN PUBLIC KEY)',
  certificate: 'is a certificate; give its public key as SPKI PEM (BEGIN PUBLIC KEY)',
  malformed: 'is not a well-formed SPKI public key',
  'rsa-pss': 'RSASSA-PSS-restricted keys are not supported; give the key as a plain RSA public key (OID 1.2.840.113549.1.1.1)',
  'unsupported-curve': 'uses an unsupported elliptic curve (P-256, P-384 and P-521 are supported)',
  'unsupported-type': 'has an unsupported key type (RSA, EC P-256/P-384/P-521 and Ed25519 are supported)',
}

// JWK members that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/**
 * A public key as configured (an SPKI PEM, a JWK object or its JSON text) with what is
 * needed to know which algorithms it can verify; or, when it cannot be used, why (a
 * message that never contains the key).
 */
export function readPublicKey(value: unknown): ResolvedPublicKey | string {
  if (typeof value === 'string' && !value.trimStart().startsWith('{')) {
    if (value.trim() === '') return 'must not be empty'
    const info = inspectSpkiPem(value)
    if (typeof info === 'string') return SPKI_PROBLEMS[info]
    if (info.modulusBits !== undefined && info.modulusBits < MIN_RSA_BITS) return `RSA keys must have at least ${MIN_RSA_BITS} bits`
    return { format: 'spki', pem: value.trim(), kty: info.kty, ...(info.crv !== undefined && { crv: info.crv }) }
  }
  let jwk: unknown = value
  if (typeof value === 'string') {
    try {
      jwk = JSON.parse(value)
    } catch {
      return 'is not valid JSON'
    }
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    return 'expected an SPKI PEM (-----BEGIN PUBLIC KEY-----) or a JWK (object or JSON text)'
  }
  const key = jwk as Record<string, unknown>
  if (key.kty === 'oct') return 'is a symmetric JWK; use secret for HS256/HS384/HS512'
  if (PRIVATE_MEMBERS.some((member) => key[member] !== undefined)) return 'is a private JWK; give the public key only'
  const problem = publicJwkProblem(key)
  if (problem !== undefined) return problem
  if (key.alg !== undefined && !isJwtAlgorithm(key.alg)) return `alg: must be one of ${ALGORITHM_NAMES.join(', ')}`
  if (key.use !== undefined && key.use !== 'sig') return "the JWK's use is not 'sig'"
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

