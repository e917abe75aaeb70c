/**
 * A retry budget for one S3 target, token-bucket style (Finagle's `RetryBudget`, the
 * gRPC retry throttling proposal A6): every first attempt deposits `ratio` of a
 * token, every retry withdraws a whole one, and a small steady refill lets a quiet
 * proxy retry at all. Retries are thus at most about `ratio` of recent requests (plus
 * `minPerSecond`), so a failing S3 sees a bounded extra load instead of `retries + 1`
 * times its traffic.
 */
export interface RetryBudgetOptions {
  /** Tokens deposited per first attempt. Default 0.2 (retries ≤ ~20% of requests). */
  ratio?: number
  /** Tokens added per second whatever the traffic. Default 1. */
  minPerSecond?: number
  /** The most tokens saved up (and the initial balance). Default 10. */
  capacity?: number
  /** A monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number
}

export interface RetryBudget {
  /** Records a first attempt. */
  deposit(): void
  /** Takes a token for a retry; `false` when the budget is spent. */
  tryWithdraw(): boolean
}

export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const ratio = options.ratio ?? 0.2
  const minPerMs = (options.minPerSecond ?? 1) / 1000
  const capacity = options.capacity ?? 10
  const now = options.now ?? (() => performance.now())
  let balance = capacity
  let refilledAt = now()

  return {
    deposit() {
      balance = Math.min(capacity, balance + ratio)
    },
    tryWithdraw() {
      const t = now()
      balance = Math.min(capacity, balance + (t - refilledAt) * minPerMs)
      refilledAt = t
      if (balance < 1) return false
      balance -= 1
      return true
    },
  }
}
