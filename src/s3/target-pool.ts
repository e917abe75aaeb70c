import type { ResolvedS3 } from '../config/types.js'
import { BadGatewayError, ClientClosedRequestError, ServiceUnavailableError } from '../errors.js'
import type { Logger } from '../logging/logger.js'
import { backoffDelay, sleep, type BackoffOptions } from '../reliability/backoff.js'
import { createCircuitBreaker, PASS, type CircuitBreaker } from '../reliability/circuit-breaker.js'
import { createRetryBudget, type RetryBudget } from '../reliability/retry-budget.js'
import { bucketCredentials } from './bucket-credentials.js'
import type { CredentialsRuntime } from './credential-providers.js'
import { createS3Client, type FetchFunction, type ObjectRequest, type S3Client } from './s3-client.js'

export interface TargetPoolOptions {
  /** The bucket's name, for logs. */
  bucket: string
  logger?: Logger
  backoff?: BackoffOptions
  /** Environment and file reading for built-in `s3.credentials` providers. */
  credentialsRuntime?: CredentialsRuntime
}

export interface PoolResponse {
  /** S3's answer: anything but a 5xx (those are retried or become errors). */
  response: Response
  /** Reports that the body then stalled (idle timeout): a failure of the target that answered. */
  reportStall(): void
}

/** A bucket's S3 targets with their clients, circuit breakers and retry budgets. */
export interface TargetPool {
  /**
   * Sends a GET/HEAD to the targets in priority order, skipping those whose circuit
   * is open, until one answers with anything but a 5xx. A failure (connection error,
   * timeout, 5xx) moves on to the next target at once; when every target failed, up
   * to `retries` more rounds follow, each after a jittered backoff and only while the
   * target's retry budget lasts. Resolves as soon as a target's headers arrive — the
   * body is never switched to another target.
   *
   * Throws `ServiceUnavailableError` (with `Retry-After`) when every circuit is open
   * and nothing was sent, the last failure otherwise (`BadGatewayError`,
   * `GatewayTimeoutError`), and `ClientClosedRequestError` at once when the client
   * goes away — never retrying after that.
   */
  send(request: ObjectRequest, fetchImpl: FetchFunction): Promise<PoolResponse>
}

interface Target {
  readonly name: string
  readonly client: S3Client
  readonly breaker: CircuitBreaker | undefined
  readonly budget: RetryBudget
}

export function createTargetPool(s3: ResolvedS3, options: TargetPoolOptions): TargetPool {
  const { logger, backoff } = options
  const credentials = bucketCredentials(s3, options)
  const targets: Target[] = s3.targets.map((config) => ({
    name: config.name,
    // A replica with keys of its own signs with them; the others with the bucket's credentials.
    client: createS3Client(config, config.credentials !== undefined && credentials ? { credentials } : {}),
    breaker:
      s3.circuitBreaker &&
      createCircuitBreaker({
        ...s3.circuitBreaker,
        onStateChange(state) {
          const fields = { bucket: options.bucket, target: config.name }
          if (state === 'open') logger?.warn('S3 circuit opened', fields)
          else logger?.info('S3 circuit closed', fields)
        },
      }),
    budget: createRetryBudget(),
  }))

  return {
    async send(request, fetchImpl) {
      let lastError: unknown
      let soonestMs = Infinity
      for (let round = 0; round <= s3.retries; round++) {
        if (round > 0) await sleep(backoffDelay(round - 1, backoff), request.signal)
        let attempted = false
        for (const target of targets) {
          const permit = target.breaker ? target.breaker.acquire() : PASS
          if (typeof permit === 'number') {
            soonestMs = Math.min(soonestMs, permit)
            continue
          }
          if (round > 0 && !target.budget.tryWithdraw()) {
            target.breaker?.release(permit)
            continue
          }
          if (round === 0) target.budget.deposit()
          attempted = true
          let response: Response
          try {
            response = await target.client.send(request, fetchImpl)
          } catch (error) {
            if (error instanceof ClientClosedRequestError || request.signal.aborted) {
              target.breaker?.release(permit)
              throw error
            }
            target.breaker?.onFailure(permit)
            lastError = error
            continue
          }
          if (response.status >= 500) {
            // S3's error body (XML) must not reach the client; free the connection.
            response.body?.cancel().catch(() => {})
            target.breaker?.onFailure(permit)
            lastError = new BadGatewayError('The storage backend failed to serve the object')
            continue
          }
          target.breaker?.onSuccess(permit)
          const breaker = target.breaker
          return { response, reportStall: () => breaker?.onFailure(PASS) }
        }
        if (!attempted) break
      }
      if (lastError !== undefined) throw lastError
      throw new ServiceUnavailableError('The storage backend is unavailable; try again later', {
        headers: { 'Retry-After': String(Math.max(1, Math.ceil(soonestMs / 1000))) },
      })
    },
  }
}
