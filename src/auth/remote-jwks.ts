import { createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose'
import { fetchBounded } from '../net/read-bounded.js'
import { failSpan, SpanKind, startChildSpan, type RequestTracing } from '../tracing/spans.js'

export type JwksFetch = (input: string, init: RequestInit) => Promise<Response>

export interface RemoteJwksOptions {
  /** Default: the runtime's global fetch. */
  fetch?: JwksFetch
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
  /**
   * Minimum time between two fetches (ms). An unknown `kid` triggers a refetch once this
   * has passed since the last one, so a newly published key is accepted within it,
   * while tokens with made-up `kid`s can't make us hammer the issuer. Also the pause
   * after a failed fetch. Default 2000.
   */
  cooldownMs?: number
  /** Age (ms) after which the set is refetched before use. Default 10 minutes. */
  maxAgeMs?: number
  /** Time allowed for one fetch, headers and body (ms). Default 5000. */
  timeoutMs?: number
  /** Told about each failed fetch (the set is unreachable, not 200, not a key set). */
  onFetchError?: (error: unknown, usingStaleKeys: boolean) => void
}

export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>

/** A {@link KeyResolver} that may be told which request's trace a fetch it starts belongs to. */
export type TracedKeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput, tracing?: RequestTracing) => Promise<CryptoKey>

/** The key set could not be fetched and no earlier copy exists: the token can't be checked. */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError'
}

// A key set is a few KB; anything far larger is not one.
export const MAX_JWKS_BYTES = 512 * 1024

/**
 * A remote JSON Web Key Set (RFC 7517 §5), built on jose's local key-set matching. Unlike
 * jose's `createRemoteJWKSet`: time and fetch are injectable, a failed refresh keeps the
 * keys already known (an issuer outage doesn't lock every user out), and a failed fetch
 * is not retried before the cooldown (a burst against a dead issuer makes one request).
 * Concurrent callers always share one in-flight fetch.
 */
export function createRemoteJwks(url: string, options: RemoteJwksOptions = {}): TracedKeyResolver {
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init))
  const now = options.now ?? Date.now
  const cooldownMs = options.cooldownMs ?? 2_000
  const maxAgeMs = options.maxAgeMs ?? 10 * 60_000
  const timeoutMs = options.timeoutMs ?? 5_000

  let keys: ReturnType<typeof createLocalJWKSet> | undefined
  let loadedAt = -Infinity
  let attemptedAt = -Infinity
  let pending: Promise<void> | undefined
  let lastError: unknown
  // The URL as spans show it: no query, no credentials.
  const spanUrl = safeUrl(url)

  async function load(tracing: RequestTracing | undefined): Promise<void> {
    // A fetch shared by several requests belongs to the trace of the one that started it.
    const span = startChildSpan(tracing, 'JWKS fetch', SpanKind.CLIENT, { 'http.request.method': 'GET', 'url.full': spanUrl })
    try {
      await fetchKeys(span)
    } catch (error) {
      failSpan(span, error)
      throw error
    } finally {
      span.end()
    }
  }

  async function fetchKeys(span: ReturnType<typeof startChildSpan>): Promise<void> {
    // The cap is counted while the body streams in and the deadline covers the body too:
    // a hostile or broken issuer can hold neither memory nor this request for longer.
    const answer = await fetchBounded(url, {
      fetch: fetchImpl,
      init: { method: 'GET', headers: { accept: 'application/jwk-set+json, application/json' } },
      maxBytes: MAX_JWKS_BYTES,
      timeoutMs,
    })
    if (span.isRecording()) span.setAttribute('http.response.status_code', answer.status)
    if (answer.status !== 200) throw new Error(`JWKS endpoint answered ${answer.status}`)
    keys = createLocalJWKSet(JSON.parse(new TextDecoder().decode(answer.bytes)) as JSONWebKeySet)
    loadedAt = now()
  }

  /** Fetches the set unless a fetch is under way (then joins it) or the cooldown forbids. Never rejects. */
  function refresh(tracing: RequestTracing | undefined): Promise<void> {
    if (pending) return pending
    if (now() - attemptedAt < cooldownMs) return Promise.resolve()
    attemptedAt = now()
    pending = load(tracing).then(
      () => {
        lastError = undefined
      },
      (error: unknown) => {
        lastError = error
        try {
          options.onFetchError?.(error, keys !== undefined)
        } catch {
          // A failing logger must not turn a JWKS outage into a stuck promise or a 500.
        }
      },
    )
    pending.finally(() => {
      pending = undefined
    })
    return pending
  }

  return async function getKey(header, token, tracing) {
    if (keys === undefined || now() - loadedAt >= maxAgeMs) await refresh(tracing)
    if (keys === undefined) throw new JwksUnavailableError('the key set could not be fetched', { cause: lastError })
    try {
      return await keys(header, token)
    } catch (error) {
      // RFC 7517 §4.5: a kid we don't know may be a key the issuer just published.
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
      const before = keys
      await refresh(tracing)
      if (keys === before) throw error
      return keys(header, token)
    }
  }
}

function safeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.username = ''
    parsed.password = ''
    parsed.search = ''
    parsed.hash = ''
    return parsed.href
  } catch {
    return ''
  }
}
