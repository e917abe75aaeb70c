import { errors, importJWK, importSPKI, jwtVerify, type JWTVerifyOptions, type JWSHeaderParameters } from 'jose'
import type { JwtAlgorithm } from './algorithms.js'
import type { ResolvedJwt } from '../config/auth-schema.js'
import { ALGORITHMS } from './algorithms.js'
import { createRemoteJwks, JwksUnavailableError, type KeyResolver, type RemoteJwksOptions } from './remote-jwks.js'
import type { RequestTracing } from '../tracing/spans.js'

/** Why a token was refused; each has a short, fixed description for clients. */
export type TokenFailure =
  | 'malformed'
  | 'expired'
  | 'not-yet-valid'
  | 'signature'
  | 'algorithm'
  | 'issuer'
  | 'audience'
  | 'unknown-key'
  | 'keys-unavailable'
  | 'invalid'

export type VerifyResult = { ok: true; claims: Record<string, unknown> } | { ok: false; failure: TokenFailure; cause?: unknown }

/** `tracing`: the request's, for the span of a JWKS fetch the verification starts. */
export type TokenVerifier = (token: string, tracing?: RequestTracing) => Promise<VerifyResult>

export interface VerifierOptions extends Pick<RemoteJwksOptions, 'fetch' | 'onFetchError' | 'cooldownMs'> {
  /** Milliseconds since the epoch, for `exp`/`nbf` and the JWKS cache. Default `Date.now`. */
  now?: () => number
}

/** A key could not be imported although the config was accepted: a server fault, not the client's. */
export class KeyImportError extends Error {
  override readonly name = 'KeyImportError'
}

/**
 * Builds the verifier of one bucket. Keys are imported once, on first use, and the
 * promise is shared; jose checks the token's `alg` against `algorithms` before asking
 * for a key, so `none`, an unlisted algorithm, or an HS256 token "signed" with the
 * public key (algorithm confusion) never reach a key.
 */
export function createVerifier(jwt: ResolvedJwt, options: VerifierOptions = {}): TokenVerifier {
  const jwks =
    jwt.jwksUrl === undefined
      ? undefined
      : createRemoteJwks(jwt.jwksUrl, {
          ...(options.fetch && { fetch: options.fetch }),
          ...(options.now && { now: options.now }),
          ...(options.onFetchError && { onFetchError: options.onFetchError }),
          ...(options.cooldownMs !== undefined && { cooldownMs: options.cooldownMs }),
        })
  const imported = new Map<JwtAlgorithm, Promise<CryptoKey>>()

  function staticKey(alg: JwtAlgorithm): Promise<CryptoKey> {
    let key = imported.get(alg)
    if (key === undefined) {
      key = importKey(jwt, alg).catch((cause: unknown) => {
        throw new KeyImportError(`the ${alg} key could not be imported`, { cause })
      })
      imported.set(alg, key)
    }
    return key
  }

  const resolveKey = (header: JWSHeaderParameters, token: Parameters<KeyResolver>[1], tracing: RequestTracing | undefined) => {
    const alg = header.alg as JwtAlgorithm // already one of `algorithms` (checked by jose first)
    if (ALGORITHMS[alg].kind === 'secret' || jwks === undefined) return staticKey(alg)
    return jwks(header, token, tracing)
  }
  const untraced: KeyResolver = (header, token) => resolveKey(header, token, undefined)

  const verifyOptions: JWTVerifyOptions = {
    algorithms: [...jwt.algorithms],
    clockTolerance: jwt.clockTolerance,
    ...(jwt.issuer !== undefined && { issuer: [...jwt.issuer] }),
    ...(jwt.audience !== undefined && { audience: [...jwt.audience] }),
  }
  const now = options.now

  return async function verifyToken(token, tracing) {
    const opts = now === undefined ? verifyOptions : { ...verifyOptions, currentDate: new Date(now()) }
    const key: KeyResolver = tracing === undefined ? untraced : (header, input) => resolveKey(header, input, tracing)
    try {
      return { ok: true, claims: await verifyWithAnyMatchingKey(token, key, opts) }
    } catch (error) {
      if (error instanceof KeyImportError) throw error
      return { ok: false, failure: classify(error), cause: error }
    }
  }
}

async function verifyWithAnyMatchingKey(token: string, key: KeyResolver, opts: JWTVerifyOptions) {
  try {
    return (await jwtVerify(token, key, opts)).payload as Record<string, unknown>
  } catch (error) {
    // A token without `kid` against a set with several keys of its type: try each
    // (jose's documented way), the first that verifies wins.
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error
    for await (const candidate of error) {
      try {
        return (await jwtVerify(token, candidate, opts)).payload as Record<string, unknown>
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner
      }
    }
    throw new errors.JWSSignatureVerificationFailed()
  }
}

async function importKey(jwt: ResolvedJwt, alg: JwtAlgorithm): Promise<CryptoKey> {
  const needed = ALGORITHMS[alg]
  if (needed.kind === 'secret') {
    // Imported as a CryptoKey once: jose would re-import raw secret bytes on every verify.
    const bytes = new TextEncoder().encode(jwt.secret)
    return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: needed.hash }, false, ['verify'])
  }
  const publicKey = jwt.publicKey
  if (publicKey === undefined) throw new Error(`no key for ${alg}`)
  if (publicKey.format === 'spki') return importSPKI(publicKey.pem, alg)
  const key = await importJWK({ ...publicKey.jwk, alg }, alg)
  if (key instanceof Uint8Array) throw new Error('expected an asymmetric key')
  return key
}

function classify(error: unknown): TokenFailure {
  if (error instanceof errors.JWTExpired) return 'expired'
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'check_failed' || error.reason === 'missing') {
      if (error.claim === 'nbf') return 'not-yet-valid'
      if (error.claim === 'iss') return 'issuer'
      if (error.claim === 'aud') return 'audience'
    }
    return 'invalid'
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature'
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm'
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown-key'
  if (error instanceof JwksUnavailableError) return 'keys-unavailable'
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed'
  return 'invalid'
}
