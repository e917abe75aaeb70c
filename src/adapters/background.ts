import type { Logger } from '../logging/logger.js'

/**
 * Background work (`waitUntil`) for server adapters that have no platform `waitUntil`:
 * each task is tracked so a graceful shutdown can wait for cache writes to finish,
 * and a failing task is reported without crashing the process.
 */
export interface BackgroundTasks {
  /** Give to the handler as `context.waitUntil`. */
  waitUntil(promise: Promise<unknown>): void
  /** Resolves when every task registered so far, and any registered meanwhile, has settled. */
  settled(): Promise<void>
  /** Tasks not settled yet. */
  readonly size: number
}

export function backgroundTasks(logger: Logger): BackgroundTasks {
  const pending = new Set<Promise<void>>()
  return {
    waitUntil(promise) {
      const tracked: Promise<void> = Promise.resolve(promise).then(
        () => {
          pending.delete(tracked)
        },
        (error: unknown) => {
          pending.delete(tracked)
          // By name only: messages may hold secrets (URLs with credentials, tokens).
          logger.error('background task failed', { error: error instanceof Error ? error.name : typeof error })
        },
      )
      pending.add(tracked)
    },
    async settled() {
      while (pending.size > 0) await Promise.all(pending)
    },
    get size() {
      return pending.size
    },
  }
}
