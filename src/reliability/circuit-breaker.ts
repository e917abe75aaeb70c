/**
 * A circuit breaker for one S3 target (Nygard, "Release It!"; the states of the
 * original Yatagarasu's breaker).
 *
 * - closed: requests pass; `failureThreshold` consecutive failures open the circuit.
 * - open: requests are refused without reaching S3 until `timeoutMs` has passed.
 * - half-open: one probe request at a time is let through; `successThreshold`
 *   successful probes in a row close the circuit, a failed probe opens it again.
 *
 * Only what says something about the target's health counts: connection errors,
 * timeouts and 5xx are failures; any other answer (200, 304, 404, ...) is a success;
 * a request the client abandoned counts as neither.
 */
export interface CircuitBreakerOptions {
  failureThreshold: number
  successThreshold: number
  /** How long the circuit stays open before a probe is let through. */
  timeoutMs: number
  /** A monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number
  /** Called when the circuit opens or closes (for logs). */
  onStateChange?: (state: 'open' | 'closed') => void
}

export type CircuitState = 'closed' | 'open' | 'half-open'

/** The right to send one request, returned by {@link CircuitBreaker.acquire}; report its outcome once. */
export interface CircuitPermit {
  readonly probe: boolean
}

export interface CircuitBreaker {
  readonly state: CircuitState
  /** A permit to send a request, or the milliseconds until one may be given. */
  acquire(): CircuitPermit | number
  onSuccess(permit: CircuitPermit): void
  onFailure(permit: CircuitPermit): void
  /** The request ended without saying anything about the target (client abort). */
  release(permit: CircuitPermit): void
}

/** The permit of a request sent while the circuit was closed; also for failures found later (a stalled body). */
export const PASS: CircuitPermit = Object.freeze({ probe: false })
const PROBE: CircuitPermit = Object.freeze({ probe: true })
/** What to tell a client while a probe is in flight: its outcome is due within a request timeout. */
const PROBE_IN_FLIGHT_WAIT_MS = 1000

export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const now = options.now ?? (() => performance.now())
  let state: CircuitState = 'closed'
  let failures = 0
  let successes = 0
  let openedAt = 0
  let probing = false

  function open(): void {
    if (state !== 'open') options.onStateChange?.('open')
    state = 'open'
    openedAt = now()
    probing = false
    failures = 0
    successes = 0
  }

  return {
    get state() {
      if (state === 'open' && now() - openedAt >= options.timeoutMs) return 'half-open'
      return state
    },
    acquire() {
      if (state === 'closed') return PASS
      if (state === 'open') {
        const wait = openedAt + options.timeoutMs - now()
        if (wait > 0) return wait
        state = 'half-open'
        successes = 0
      }
      if (probing) return PROBE_IN_FLIGHT_WAIT_MS
      probing = true
      return PROBE
    },
    onSuccess(permit) {
      if (permit.probe) {
        probing = false
        if (state !== 'half-open') return
        successes++
        if (successes >= options.successThreshold) {
          state = 'closed'
          failures = 0
          options.onStateChange?.('closed')
        }
      } else if (state === 'closed') failures = 0
    },
    onFailure(permit) {
      if (permit.probe) {
        if (state === 'half-open') open()
        else probing = false
      } else if (state === 'closed' && ++failures >= options.failureThreshold) open()
      // A late failure of a request sent before the circuit opened changes nothing:
      // the probes decide from here.
    },
    release(permit) {
      if (permit.probe) probing = false
    },
  }
}
