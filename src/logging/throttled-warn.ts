import type { Logger } from './logger.js'

/** How often a failure that repeats (on every request, or every reconnect) is reported. */
export const REPEAT_INTERVAL_MS = 10_000

export interface ThrottledWarnOptions {
  /** Default {@link REPEAT_INTERVAL_MS}. */
  intervalMs?: number
  /** A monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number
}

/** Logs `message` as a warning, at most once per interval for each `key` (default: the message). */
export type ThrottledWarn = (message: string, fields?: Record<string, unknown>, key?: string) => void

/**
 * A warning that would otherwise flood the log (a store or a connection that is down):
 * the first of each key at once, then at most one per interval, carrying how many were
 * left out meanwhile as `suppressed`.
 */
export function throttledWarn(logger: Logger | undefined, options: ThrottledWarnOptions = {}): ThrottledWarn {
  const intervalMs = options.intervalMs ?? REPEAT_INTERVAL_MS
  const now = options.now ?? (() => performance.now())
  const last = new Map<string, { at: number; suppressed: number }>()
  return (message, fields = {}, key = message) => {
    const at = now()
    const seen = last.get(key)
    if (seen !== undefined && at - seen.at < intervalMs) {
      seen.suppressed++
      return
    }
    last.set(key, { at, suppressed: 0 })
    logger?.warn(message, seen !== undefined && seen.suppressed > 0 ? { ...fields, suppressed: seen.suppressed } : fields)
  }
}
