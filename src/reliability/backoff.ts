import { ClientClosedRequestError } from '../errors.js'

export interface BackoffOptions {
  /** The ceiling of the first retry's delay. Default 100 ms. */
  baseMs?: number
  /** The largest delay. Default 1000 ms. */
  maxMs?: number
  /** Default `Math.random`. */
  random?: () => number
}

/**
 * Capped exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS
 * Architecture Blog): retry `n` (0-based) waits a random time in
 * `[0, min(maxMs, baseMs * 2^n))`, so clients that failed together don't retry together.
 */
export function backoffDelay(retry: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 100
  const max = options.maxMs ?? 1000
  const random = options.random ?? Math.random
  return random() * Math.min(max, base * 2 ** retry)
}

/** Waits `ms`, or rejects with a `ClientClosedRequestError` as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ClientClosedRequestError('The client closed the request'))
    const onAbort = () => {
      clearTimeout(timer)
      reject(new ClientClosedRequestError('The client closed the request'))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
