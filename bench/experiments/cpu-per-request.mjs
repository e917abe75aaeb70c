#!/usr/bin/env node
/**
 * CPU time per request of each server, and its request rate against the first one,
 * interleaved round by round: a steadier measure than requests/s on a shared machine,
 * where other processes take the cores away for seconds at a time.
 *
 *   node bench/experiments/cpu-per-request.mjs [--path=/c/1024] [--rounds=5] [--seconds=4] [--connections=32] SERVER...
 *
 * SERVER is `floor` (bench/servers/node-floor.mjs), `pipe` (bench/servers/node-pipe.mjs),
 * `node`, `hono` or `srvx` (bench/.build/proxy.mjs with that bridge; `npm run bench` builds
 * it), or `label=path/to/bundle.mjs[:bridge]` (another build of bench/servers/proxy.ts, e.g. one made
 * at an older commit). Every server gets the same path on the same bench origin; the
 * floor answers `/x/<size>` for any `/<prefix>/<size>`. Servers are pinned to core 0, wrk to
 * core 1. CPU per request = the server's (utime + stime) over a run / requests answered.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, run, startServer, stopAll, get } from '../lib/procs.mjs'

const BENCH = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback
const PATH = option('path', '/c/1024')
const ROUNDS = Number(option('rounds', 5))
const SECONDS = Number(option('seconds', 4))
const CONNECTIONS = Number(option('connections', 32))
const names = args.filter((a) => !a.startsWith('--'))
const TICK = 1e6 / 100 // µs per clock tick (USER_HZ)

function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * TICK
}

async function main() {
  const origin = await startServer('origin', process.execPath, [path.join(BENCH, 'servers/origin.mjs')], { cpu: 1 })
  const proxy = path.join(BENCH, '.build/proxy.mjs')
  const servers = []
  for (const name of names) {
    let server
    if (name === 'floor') server = await startServer(name, process.execPath, [path.join(BENCH, 'servers/node-floor.mjs')], { cpu: 0 })
    else if (name === 'pipe') server = await startServer(name, process.execPath, [path.join(BENCH, 'servers/node-pipe.mjs'), origin.url], { cpu: 0 })
    else if (name.includes('=')) {
      const [label, spec] = name.split('=')
      const [bundle, bridge = 'node'] = spec.split(':')
      server = await startServer(label, process.execPath, [path.resolve(bundle), origin.url, bridge], { cpu: 0 })
      server.name = label
    } else server = await startServer(name, process.execPath, [proxy, origin.url, name], { cpu: 0 })
    const url = server.url + PATH
    for (let i = 0; i < 2; i++) {
      const answer = await get(url)
      if (answer.status !== 200) throw new Error(`${server.name}: ${answer.status} for ${PATH}`)
    }
    await run('wrk', ['-t1', `-c${CONNECTIONS}`, '-d2s', url], { cpu: 1 }) // JIT warm-up
    servers.push({ name: server.name, url, pid: server.pid, cpu: [], rps: [] })
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of servers) {
      const before = cpuMicros(server.pid)
      const out = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, server.url], { cpu: 1 })
      const used = cpuMicros(server.pid) - before
      const requests = Number(/(\d+) requests in/.exec(out)[1])
      server.cpu.push(used / requests)
      server.rps.push(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]))
    }
    console.error(`round ${round + 1}: ${servers.map((s) => `${s.name} ${s.cpu.at(-1).toFixed(1)} µs`).join(', ')}`)
  }
  const first = servers[0]
  console.log(`${PATH}, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s, medians:`)
  console.log('server'.padEnd(14), 'CPU µs/req'.padStart(11), 'req/s'.padStart(9), `CPU vs ${first.name}`.padStart(16), `req/s vs ${first.name}`.padStart(18))
  for (const s of servers) {
    const cpu = median(s.cpu)
    const rps = median(s.rps)
    console.log(s.name.padEnd(14), cpu.toFixed(1).padStart(11), rps.toFixed(0).padStart(9), `${(cpu / median(first.cpu)).toFixed(2)} ×`.padStart(16), `${(rps / median(first.rps)).toFixed(2)} ×`.padStart(18))
  }
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(stopAll)
