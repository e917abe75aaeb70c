/**
 * Waiting in tests. Prefer awaiting the event itself (a promise, a stream's end, a log
 * line, a child's exit); `until` is for state that announces no event (a client's
 * `isReady`, a counter in another component or process), polled, with a deadline that only turns a
 * hang into a readable failure; `nextTurn` lets work already under way in this process
 * run (promise jobs, stream pulls, I/O callbacks) without waiting for any time. `sleep` is
 * for time as such on a real server: a pause that is the subject of the test (a slowly sent
 * body), never a guess at how long something else takes.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Yields `count` turns of the event loop (setImmediate): promise jobs, stream pulls and I/O callbacks run; no time is waited for. */
export async function nextTurn(count = 1): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Polls `condition` every `intervalMs` (longer for a costly check: a request, a connection) until it holds. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, intervalMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(intervalMs)
  }
}
