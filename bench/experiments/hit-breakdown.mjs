#!/usr/bin/env node
/**
 * Where the in-process time of a 1 KB cache hit goes (hit-fixture.ts: the Node adapter's
 * request, the handler, the header list), by source file: src/ is compiled file by file
 * (not bundled), so the profile names each module, and the hit runs under `--cpu-prof`.
 * Prints the CPU per hit and each file's share of the self time (GC and the rest apart).
 *
 *   node bench/experiments/hit-breakdown.mjs [--ref=REF] [iterations]
 *
 * `--ref`: another commit's src/ (with this tree's fixture) instead of this tree's.
 */
import { execSync, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const args = process.argv.slice(2)
const REF = args.find((a) => a.startsWith('--ref='))?.slice(6)
const ITERATIONS = Number(args.find((a) => !a.startsWith('--')) ?? 200_000)

const out = path.join(ROOT, 'bench/.build/breakdown')
rmSync(out, { recursive: true, force: true })
mkdirSync(path.join(out, 'bench/experiments'), { recursive: true })
let tree = ROOT
if (REF !== undefined) {
  tree = path.join(ROOT, 'bench/.build/breakdown-src')
  rmSync(tree, { recursive: true, force: true })
  mkdirSync(path.join(tree, 'bench/experiments'), { recursive: true })
  execSync(`git archive ${REF} src | tar -x -C ${tree}`, { cwd: ROOT })
  copyFileSync(path.join(ROOT, 'bench/experiments/hit-fixture.ts'), path.join(tree, 'bench/experiments/hit-fixture.ts'))
}
const sources = execSync(`find src bench/experiments/hit-fixture.ts -name '*.ts'`, { cwd: tree, encoding: 'utf8' }).trim().split('\n')
const built = spawnSync(path.join(ROOT, 'node_modules/.bin/esbuild'), [...sources, '--format=esm', '--platform=node', `--outdir=${out}`, '--outbase=.', '--log-level=warning'], {
  cwd: tree,
  stdio: 'inherit',
})
if (built.status !== 0) process.exit(built.status ?? 1)
writeFileSync(
  path.join(out, 'run.mjs'),
  `import { createHit } from './bench/experiments/hit-fixture.js'
const hit = await createHit()
for (let i = 0; i < 20000; i++) await hit()
const start = process.cpuUsage()
const began = performance.now()
for (let i = 0; i < ${ITERATIONS}; i++) await hit()
const used = process.cpuUsage(start)
console.log(((used.user + used.system) / ${ITERATIONS}).toFixed(2), ((performance.now() - began) * 1000).toFixed(0))
`,
)
const profiles = path.join(out, 'profiles')
const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profiles}`, path.join(out, 'run.mjs')], { encoding: 'utf8' })
if (run.status !== 0) throw new Error(run.stderr)
const profile = JSON.parse(readFileSync(path.join(profiles, readdirSync(profiles)[0]), 'utf8'))
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const [perHit, loopMicros] = run.stdout.trim().split(' ').map(Number)
// Only the measured loop: the process exits right after it (start-up, compilation and warm-up left out).
const from = profile.endTime - loopMicros
let at = profile.startTime
const groups = new Map()
let total = 0
for (const [i, id] of profile.samples.entries()) {
  at += profile.timeDeltas[i]
  if (at < from) continue
  const { functionName, url } = byId.get(id).callFrame
  if (functionName === '(idle)') continue
  total++
  let group
  if (functionName === '(garbage collector)') group = 'garbage collection'
  else if (url.includes(`${out}/src/`)) group = url.slice(url.indexOf(`${out}/src/`) + out.length + 1)
  else if (url.includes('hit-fixture')) group = 'the fixture (request objects, the loop)'
  else if (url.includes('node_modules')) group = url.replace(/.*node_modules\//, '').split('/').slice(0, url.includes('node_modules/@') ? 2 : 1).join('/')
  else if (functionName === '(program)' || functionName === 'runMicrotasks' || url === '') group = 'V8 and natives (promises, microtasks, regexps, ...)'
  else group = `Node: ${url.replace(/^node:(internal\/)?/, '')}`
  groups.set(group, (groups.get(group) ?? 0) + 1)
}
console.log(`${perHit} µs per hit (${REF ?? 'this tree'}), ${total} samples; self time by file:`)
for (const [group, count] of [...groups].sort((a, b) => b[1] - a[1])) if (count / total >= 0.005) console.log(`${((100 * count) / total).toFixed(1).padStart(5)} %  ${group}`)
