#!/usr/bin/env node
/**
 * The in-process cost of a 1 KB cache hit (hit-fixture.ts) in this tree's src/ against
 * another commit's, both loaded in one process and run in alternating short rounds: on
 * a shared machine whose load swings, the two then see the same conditions, and the
 * ratio of their per-round CPU times is steadier than either figure.
 *
 *   node bench/experiments/hit-ab.mjs [--base=main] [--head=REF] [--rounds=30] [iterations per round]
 *
 * The base's src/ is taken with `git archive` into bench/.build/ab-base/ (and `--head`'s,
 * instead of this tree's, into bench/.build/ab-head/).
 */
import { execSync, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const args = process.argv.slice(2)
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback
const BASE = option('base', 'main')
const HEAD = option('head', undefined)
const ROUNDS = Number(option('rounds', 30))
const ITERATIONS = Number(args.find((a) => !a.startsWith('--')) ?? 5000)

/** The src/ of `ref` in bench/.build/<name>/, with this tree's fixture beside it. */
function archive(ref, name) {
  const tree = path.join(ROOT, 'bench/.build', name)
  rmSync(tree, { recursive: true, force: true })
  mkdirSync(path.join(tree, 'bench/experiments'), { recursive: true })
  execSync(`git archive ${ref} src | tar -x -C ${tree}`, { cwd: ROOT })
  copyFileSync(path.join(ROOT, 'bench/experiments/hit-fixture.ts'), path.join(tree, 'bench/experiments/hit-fixture.ts'))
  return tree
}
const baseTree = archive(BASE, 'ab-base')
const headTree = HEAD === undefined ? ROOT : archive(HEAD, 'ab-head')

function bundle(tree, name) {
  const outfile = path.join(ROOT, `bench/.build/hit-${name}.mjs`)
  const built = spawnSync(
    path.join(ROOT, 'node_modules/.bin/esbuild'),
    [path.join(tree, 'bench/experiments/hit-fixture.ts'), '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${outfile}`, '--log-level=warning'],
    { stdio: 'inherit', cwd: ROOT },
  )
  if (built.status !== 0) process.exit(built.status ?? 1)
  return outfile
}

const variants = [
  { name: BASE, hit: await (await import(pathToFileURL(bundle(baseTree, 'ab-base')).href)).createHit(), rounds: [] },
  { name: HEAD ?? 'this tree', hit: await (await import(pathToFileURL(bundle(headTree, 'ab-new')).href)).createHit(), rounds: [] },
]
for (const variant of variants) for (let i = 0; i < ITERATIONS * 4; i++) await variant.hit() // JIT warm-up
const ratios = []
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of round % 2 ? [...variants].reverse() : variants) {
    const start = process.cpuUsage()
    for (let i = 0; i < ITERATIONS; i++) await variant.hit()
    const used = process.cpuUsage(start)
    variant.rounds.push((used.user + used.system) / ITERATIONS)
  }
  ratios.push(variants[1].rounds.at(-1) / variants[0].rounds.at(-1))
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1]
for (const variant of variants) console.log(`${variant.name.padEnd(10)} ${median(variant.rounds).toFixed(2)} µs per hit (median of ${ROUNDS} rounds of ${ITERATIONS}; min ${Math.min(...variant.rounds).toFixed(2)})`)
console.log(`${HEAD ?? 'this tree'} / ${BASE}: ${median(ratios).toFixed(3)} (median of the per-round ratios)`)
