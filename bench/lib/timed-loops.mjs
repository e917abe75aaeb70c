/**
 * `concurrency` loops, each starting `once()` again as soon as the last one settled,
 * until `seconds` have passed; resolves with how many completed and the time taken.
 */
export async function timedLoops(concurrency, seconds, once) {
  const started = performance.now()
  const deadline = started + seconds * 1000
  let completed = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await once()
        completed++
      }
    }),
  )
  return { completed, seconds: (performance.now() - started) / 1000 }
}
