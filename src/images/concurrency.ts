/**
 * A count of transforms running at once. It never queues: a request that finds every
 * slot taken is refused at once (503 + `Retry-After`), so a burst can't pile up source
 * images in memory waiting for a turn.
 */
export interface ConcurrencyLimit {
  /** A release function when a slot was free, else `undefined`. Release exactly once. */
  tryAcquire(): (() => void) | undefined
  readonly active: number
}

export function concurrencyLimit(max: number): ConcurrencyLimit {
  let active = 0
  return {
    tryAcquire() {
      if (active >= max) return undefined
      active++
      let released = false
      return () => {
        if (released) return
        released = true
        active--
      }
    },
    get active() {
      return active
    },
  }
}
