/**
 * CPU time of one 1 KB cache hit in-process, without sockets (see hit-fixture.ts).
 * Medians of 7 rounds.
 *
 *   node bench/experiments/hit-cost.mjs [iterations per round]   (bundles this file first)
 *
 * Run it with `--cpu-prof` (`node --cpu-prof bench/.build/hit-cost.mjs`) to see where a
 * hit's time goes apart from Node's HTTP server and the socket writes. To compare two
 * builds on a loaded machine, hit-ab.mjs alternates them in one process.
 */
import { createHit } from './hit-fixture.js'

const hit = await createHit()
const iterations = Number(process.argv[2] ?? 50_000)
const rounds: number[] = []
for (let round = 0; round < 7; round++) {
  const start = process.cpuUsage()
  for (let i = 0; i < iterations; i++) await hit()
  const used = process.cpuUsage(start)
  rounds.push((used.user + used.system) / iterations)
}
rounds.sort((a, b) => a - b)
console.log(`${rounds[3]!.toFixed(2)} µs per hit (median of 7; ${rounds.map((r) => r.toFixed(2)).join(', ')})`)
