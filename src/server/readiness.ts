/**
 * Readiness: can each bucket's S3 be reached? A signed `HEAD` of the bucket per S3
 * target, at most one round every `cacheMs` (concurrent checks share it), each probe
 * bounded by `timeoutMs`. Any HTTP answer below 500 counts as reachable — a 403 or
 * 404 is a configuration problem the proxy reports per request, not a reason to take
 * the whole instance out of rotation. A bucket is ready when one of its targets is.
 */
import type { ResolvedBucket, ResolvedS3Target } from '../config/types.js'
import type { FetchFunction } from '../s3/s3-client.js'
import { isYatagarasuError } from '../errors.js'
import { fetchBounded } from '../net/read-bounded.js'
import type { Logger } from '../logging/logger.js'
import { bucketCredentials } from '../s3/bucket-credentials.js'
import type { CredentialsRuntime } from '../s3/credential-providers.js'
import { objectUrlBase } from '../s3/object-url.js'
import { targetSigner } from '../s3/s3-client.js'

export interface ReadinessOptions {
  /** Per probe. Default 2000. */
  timeoutMs?: number
  /** How long a result is reused. Default 5000. */
  cacheMs?: number
  fetch: FetchFunction
  now?: () => number
  /** For buckets with `s3.credentials`: what the built-in providers read (as for object requests). */
  credentialsRuntime?: CredentialsRuntime
  /** Receives failed credential refreshes. */
  logger?: Logger
}

export interface BucketReadiness {
  readonly ready: boolean
  /** Why not, for the first failing target: `timeout`, `unreachable`, `status 5xx` or `no credentials`. */
  readonly reason?: string
}

export interface ReadinessReport {
  readonly ready: boolean
  readonly buckets: Readonly<Record<string, BucketReadiness>>
}

export interface Readiness {
  check(): Promise<ReadinessReport>
}

export function createReadiness(buckets: readonly ResolvedBucket[], options: ReadinessOptions): Readiness {
  const timeoutMs = options.timeoutMs ?? 2000
  const cacheMs = options.cacheMs ?? 5000
  const now = options.now ?? (() => performance.now())
  let last: { at: number; report: Promise<ReadinessReport> } | undefined

  // Each target's URL and signer, made once: the same SigV4 signing as every object
  // request — its own keys, or the bucket's refreshing credentials (current at each probe).
  const targets = new Map(
    buckets.flatMap((bucket) => {
      const credentials = bucketCredentials(bucket.s3, { bucket: bucket.name, logger: options.logger, credentialsRuntime: options.credentialsRuntime })
      return bucket.s3.targets.map((target) => [
        target,
        { url: new URL(objectUrlBase(target)), signer: targetSigner(target, target.credentials !== undefined ? credentials : undefined) },
      ] as const)
    }),
  )

  async function probe(target: ResolvedS3Target): Promise<string | undefined> {
    const { url, signer } = targets.get(target)!
    let sign
    try {
      sign = await signer()
    } catch {
      // The refresh failure is logged by the credentials source.
      return 'no credentials'
    }
    try {
      // The same bounded read as every document the proxy fetches for itself: one deadline
      // for the whole answer, and no body expected (a HEAD), so none is kept.
      const answer = await fetchBounded(url.href, {
        fetch: options.fetch,
        init: { method: 'HEAD', headers: sign('HEAD', url), redirect: 'manual' },
        maxBytes: 0,
        timeoutMs,
      })
      return answer.status >= 500 ? `status ${answer.status}` : undefined
    } catch (error) {
      return isYatagarasuError(error, 'RemoteDocumentTimeout') ? 'timeout' : 'unreachable'
    }
  }

  async function run(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      buckets.map(async (bucket): Promise<[string, BucketReadiness]> => {
        const failures = await Promise.all(bucket.s3.targets.map(probe))
        const ready = failures.some((failure) => failure === undefined)
        const reason = failures.find((failure) => failure !== undefined)
        return [bucket.name, ready || reason === undefined ? { ready: true } : { ready: false, reason }]
      }),
    )
    const report: Record<string, BucketReadiness> = Object.fromEntries(entries)
    return { ready: entries.every(([, state]) => state.ready), buckets: report }
  }

  return {
    check() {
      const at = now()
      if (last === undefined || at - last.at >= cacheMs) last = { at, report: run() }
      return last.report
    },
  }
}
