/**
 * S3 credentials that change over time (STS session credentials from a container
 * endpoint, web identity, EC2 instance metadata, or a function of one's own), kept
 * current for signing.
 *
 * The rules (docs/configuration.md#refreshing-credentials):
 * - the first request waits for the first fetch; requests arriving meanwhile wait on the
 *   same one (single-flight);
 * - from `refreshBeforeMs` before `expiration` on, a request starts one background refresh
 *   and is signed with the current credentials at once;
 * - a failed refresh is logged (never with the credentials) and the current credentials
 *   are kept until they expire; the next attempt comes `retryAfterMs` later;
 * - once they have expired, a request waits for one refresh (the one in progress, or a new
 *   one) and no more: if it fails, the request fails (502).
 */
import type { Logger } from '../logging/logger.js'
import { describeError } from '../logging/describe-error.js'

/** What a credentials provider returns. */
export interface AwsCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string | undefined
  /** When they stop working. Absent: they never expire and are fetched once. */
  readonly expiration?: Date | undefined
}

/** Fetches a current set of credentials; called again before they expire. */
export type CredentialsProvider = () => Promise<AwsCredentials>

export interface RefreshingCredentialsOptions {
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
  /** How long before `expiration` a refresh starts. Default 5 minutes, as the AWS SDKs do. */
  refreshBeforeMs?: number
  /** After a failed refresh, how long until the next attempt. Default 10 seconds. */
  retryAfterMs?: number
  /** Receives failed refreshes. */
  logger?: Logger
  /** The bucket's name, for logs. */
  bucket?: string
}

/** Credentials kept current; `get()` resolves with those to sign the next request with. */
export interface CredentialsSource {
  get(): Promise<AwsCredentials>
}

export const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000
export const DEFAULT_RETRY_AFTER_MS = 10_000

export function refreshingCredentials(provider: CredentialsProvider, options: RefreshingCredentialsOptions = {}): CredentialsSource {
  const now = options.now ?? Date.now
  const refreshBeforeMs = options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS
  const retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS
  let current: AwsCredentials | undefined
  let expiresAt = Number.POSITIVE_INFINITY
  let refreshing: Promise<AwsCredentials> | undefined
  let nextAttempt = Number.NEGATIVE_INFINITY
  let lastError: unknown

  function refresh(): Promise<AwsCredentials> {
    refreshing ??= (async () => {
      try {
        const fresh = checked(await provider())
        current = fresh
        expiresAt = fresh.expiration?.getTime() ?? Number.POSITIVE_INFINITY
        nextAttempt = Number.NEGATIVE_INFINITY
        return fresh
      } catch (error) {
        lastError = error
        nextAttempt = now() + retryAfterMs
        options.logger?.warn('S3 credentials refresh failed', {
          ...(options.bucket !== undefined && { bucket: options.bucket }),
          error: describeError(error),
          ...(current !== undefined && expiresAt > now() && { keptUntil: new Date(expiresAt).toISOString() }),
        })
        throw error
      } finally {
        refreshing = undefined
      }
    })()
    return refreshing
  }

  return {
    async get() {
      const at = now()
      if (current !== undefined && at < expiresAt) {
        if (at >= expiresAt - refreshBeforeMs && at >= nextAttempt) refresh().catch(() => {})
        return current
      }
      if (refreshing !== undefined) return refreshing
      // Expired (or never fetched) and the last attempt failed a moment ago: fail at once
      // rather than ask the endpoint again on every request.
      if (at < nextAttempt) throw lastError
      return refresh()
    },
  }
}

/** The provider's answer, checked: a provider of one's own may return anything. */
function checked(credentials: AwsCredentials): AwsCredentials {
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = credentials ?? {}
  if (typeof accessKeyId !== 'string' || accessKeyId === '' || typeof secretAccessKey !== 'string' || secretAccessKey === '') {
    throw new TypeError('the credentials provider returned no accessKeyId or secretAccessKey')
  }
  if (sessionToken !== undefined && typeof sessionToken !== 'string') throw new TypeError('the credentials provider returned a sessionToken that is not a string')
  if (expiration !== undefined && !(expiration instanceof Date && Number.isFinite(expiration.getTime()))) {
    throw new TypeError('the credentials provider returned an expiration that is not a valid Date')
  }
  return { accessKeyId, secretAccessKey, ...(sessionToken !== undefined && { sessionToken }), ...(expiration !== undefined && { expiration }) }
}
