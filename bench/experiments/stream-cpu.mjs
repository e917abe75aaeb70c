/**
 * One 1 GB download at a time through each server, interleaved round by round, with the
 * server's CPU time (user, sys) and minor page faults per GB from /proc/<pid>/stat.
 *
 *   node bench/experiments/stream-cpu.mjs <rounds> label:script[:node flag...] ...
 *   e.g. node bench/experiments/stream-cpu.mjs 7 pipe:bench/servers/node-pipe.mjs proxy:bench/.build/proxy.mjs
 *
 * STREAM_MB=256 downloads that many MB per round instead of 1 GB (figures stay per GB).
 */
import { readFileSync } from 'node:fs'
import { run, startServer, stopAll, median } from '../lib/procs.mjs'
const rounds = Number(process.argv[2]); const specs = process.argv.slice(3).map((s) => { const [label, script, ...flags] = s.split(':'); return { label, script, flags } })
const origin = await startServer('origin', process.execPath, [new URL('../servers/origin.mjs', import.meta.url).pathname])
const stat = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return { minflt: +f[7], utime: +f[11], stime: +f[12] } }
const ts = []
for (const s of specs) { const server = await startServer(s.label, process.execPath, [...s.flags, s.script, origin.url]); ts.push({ ...s, server }) }
const res = {}
const size = Number(process.env.STREAM_MB ?? 1024) << 20
const perGB = (1 << 30) / size
for (const t of ts) await run('curl', ['-s', '-o', '/dev/null', `${t.server.url}/p/${256 << 20}`])
for (let r = 0; r < rounds; r++) for (const t of ts) {
  const a = stat(t.server.pid)
  const out = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `${t.server.url}/p/${size}`], { timeoutMs: 300000 })
  const b = stat(t.server.pid)
  const [bytes, secs] = out.trim().split(' ').map(Number)
  ;(res[t.label] ??= []).push({ mbps: Math.round(bytes / 1e6 / secs), faults: (b.minflt - a.minflt) * perGB, cpuMs: (b.utime + b.stime - a.utime - a.stime) * 10 * perGB, user: (b.utime - a.utime) * 10 * perGB, sys: (b.stime - a.stime) * 10 * perGB })
}
await stopAll()
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(8), 'MB/s', median(v.map((x) => x.mbps)), 'faults/GB', median(v.map((x) => x.faults)), 'cpu ms/GB', median(v.map((x) => x.cpuMs)), 'user', median(v.map((x) => x.user)), 'sys', median(v.map((x) => x.sys)), '| mbps runs', v.map((x) => x.mbps).join(' '))
