/**
 * Waiting in tests. Prefer awaiting the event itself (a promise, a stream's end, a log
 * line, a child's exit); `until` is for state that announces no event (a client's
 * `isReady`, a counter in another component or process), polled, with a deadline that only turns a
 * hang into a readable failure. `sleep` is for time as such on a real server: a pause that
 * is the subject of the test (an idle connection, a slowly sent body), never a guess at how
 * long something else takes.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}
