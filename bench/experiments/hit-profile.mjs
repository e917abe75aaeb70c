#!/usr/bin/env node
/**
 * Where a server's CPU goes on a cache hit: runs one server under `node --cpu-prof` while
 * wrk sends it requests for a few seconds, then prints the self time of the busiest
 * functions and of a few groups (idle, GC, Node's HTTP server, the socket writes, the
 * proxy's own code by file) as shares of the samples where the process was not idle.
 * Shares do not depend on how loaded the machine is, which requests per second do.
 *
 *   node bench/experiments/hit-profile.mjs [--path=/c/1024] [--seconds=6] [--top=30] [SERVER]
 *
 * SERVER as in cpu-per-request.mjs: `floor`, `node` (default), `hono`, `srvx`, or
 * `label=path/to/bundle.mjs[:bridge]`. `npm run bench` (or a previous run of this script)
 * builds bench/.build/proxy.mjs; this script rebuilds it from src/ first.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { get, run, startServer, stopAll } from '../lib/procs.mjs'

const BENCH = fileURLToPath(new URL('..', import.meta.url))
const ROOT = path.join(BENCH, '..')
const args = process.argv.slice(2)
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback
const PATH = option('path', '/c/1024')
const SECONDS = Number(option('seconds', 6))
const TOP = Number(option('top', 30))
const name = args.find((a) => !a.startsWith('--')) ?? 'node'

function buildProxy() {
  const outfile = path.join(BENCH, '.build/proxy.mjs')
  const out = spawnSync(
    path.join(ROOT, 'node_modules/.bin/esbuild'),
    [path.join(BENCH, 'servers/proxy.ts'), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external', `--outfile=${outfile}`, '--log-level=warning'],
    { encoding: 'utf8' },
  )
  if (out.status !== 0) throw new Error(`esbuild failed: ${out.stderr}`)
  return outfile
}

/** The group a profile node's self time is counted in. */
function groupOf(frame) {
  const { functionName: fn, url } = frame
  if (fn === '(idle)') return 'idle'
  if (fn === '(garbage collector)') return 'garbage collection'
  if (fn === '(program)') return '(program: native, outside JS)'
  if (/writev|writeBuffer|writeUtf8String|writeLatin1String/.test(fn)) return 'socket writes'
  if (url.includes('node:_http') || url.includes('node:internal/http')) return "Node's HTTP server (node:_http_*)"
  if (url.includes('node:internal/streams') || url.includes('node:stream')) return 'node:stream'
  if (url.includes('node:net') || url.includes('stream_base_commons')) return 'node:net'
  if (url.startsWith('node:') || url === '') return `other Node internals / natives`
  if (url.includes('node_modules')) return url.replace(/.*node_modules\//, 'node_modules/').split('/').slice(0, 2).join('/')
  return 'the proxy (bundled src/)'
}

async function main() {
  const proxy = buildProxy()
  const profiles = mkdtempSync(path.join(tmpdir(), 'hit-profile-'))
  const prof = ['--cpu-prof', `--cpu-prof-dir=${profiles}`]
  const origin = await startServer('origin', process.execPath, [path.join(BENCH, 'servers/origin.mjs')], { cpu: 1 })
  let server
  if (name === 'floor') server = await startServer(name, process.execPath, [...prof, path.join(BENCH, 'servers/node-floor.mjs')], { cpu: 0 })
  else if (name.includes('=')) {
    const [, spec] = name.split('=')
    const [bundle, bridge = 'node'] = spec.split(':')
    server = await startServer(name, process.execPath, [...prof, path.resolve(bundle), origin.url, bridge], { cpu: 0 })
  } else server = await startServer(name, process.execPath, [...prof, proxy, origin.url, name], { cpu: 0 })
  const url = server.url + PATH
  for (let i = 0; i < 2; i++) {
    const answer = await get(url)
    if (answer.status !== 200) throw new Error(`${name}: ${answer.status} for ${PATH}`)
  }
  await run('wrk', ['-t1', '-c32', '-d2s', url], { cpu: 1 }) // JIT warm-up, left out of the counts
  const out = await run('wrk', ['-t1', '-c32', `-d${SECONDS}s`, url], { cpu: 1 })
  const requests = Number(/(\d+) requests in/.exec(out)[1])
  await server.stop()
  await origin.stop()
  const file = readdirSync(profiles).find((f) => f.endsWith('.cpuprofile'))
  const profile = JSON.parse(readFileSync(path.join(profiles, file), 'utf8'))
  rmSync(profiles, { recursive: true, force: true })

  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  // Only the samples of the measured run: the last SECONDS before the profile ended (the
  // server is stopped right after wrk), not start-up, module compilation and warm-up.
  const selfSamples = new Map()
  let at = profile.startTime
  const from = profile.endTime - SECONDS * 1e6
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i]
    if (at >= from) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1)
  })
  const byFunction = new Map()
  const byGroup = new Map()
  let total = 0
  let idle = 0
  for (const [id, count] of selfSamples) {
    const frame = byId.get(id).callFrame
    const group = groupOf(frame)
    if (group === 'idle') {
      idle += count
      continue
    }
    total += count
    byGroup.set(group, (byGroup.get(group) ?? 0) + count)
    const file = frame.url.replace(/.*\//, '')
    const key = `${frame.functionName || '(anonymous)'}  ${file}${frame.url ? `:${frame.lineNumber + 1}` : ''}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + count)
  }
  const share = (n) => `${((100 * n) / total).toFixed(1)} %`.padStart(7)
  console.log(`${name} ${PATH}: ${requests} requests in ${SECONDS} s; ${total} busy samples (${((total * profile.timeDeltas.reduce((a, b) => a + b, 0)) / profile.samples.length / requests).toFixed(1)} µs per request), idle ${((100 * idle) / (idle + total)).toFixed(0)} % of all`)
  console.log('\nself time by group (share of busy samples):')
  for (const [group, count] of [...byGroup].sort((a, b) => b[1] - a[1])) console.log(share(count), group)
  console.log(`\ntop ${TOP} functions by self time:`)
  for (const [key, count] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(share(count), key)
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(stopAll)
