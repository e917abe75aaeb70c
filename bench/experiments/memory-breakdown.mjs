/**
 * Where a streaming proxy's memory goes: N concurrent downloads (256 MB objects by
 * default) through the proxy, sampling process.memoryUsage() every 200 ms and once,
 * mid-run, after full GCs (bench/lib/memory-probe.mjs). Uses the proxy bundle the
 * bench builds (bench/.build/proxy.mjs; `npm run bench -- --only=memory` builds it).
 *
 *   node bench/experiments/memory-breakdown.mjs fast|slow [node flags...]
 *   env: STREAMS (50), SIZE (bytes), PROXY (a bundle name in bench/.build), SERVER=pipe (the bare node:http pipe)
 */
import path from 'node:path'
import { get, memoryOf, run, sleep, startServer, stopAll, freePort } from '../lib/procs.mjs'
const BENCH = new URL('..', import.meta.url).pathname
const kind = process.argv[2] ?? 'fast'
const flags = process.argv.slice(3)
const size = Number(process.env.SIZE ?? 256 << 20), STREAMS = Number(process.env.STREAMS ?? 50)
const origin = await startServer('origin', process.execPath, [path.join(BENCH, 'servers/origin.mjs')])
const pport = await freePort()
const proxy = await startServer('proxy', process.execPath, ['--expose-gc', '--import', path.join(BENCH, 'lib/memory-probe.mjs'), ...flags, process.env.SERVER === 'pipe' ? path.join(BENCH, 'servers/node-pipe.mjs') : path.join(BENCH, '.build', process.env.PROXY ?? 'proxy.mjs'), origin.url], { env: { MEMORY_PROBE_PORT: String(pport) } })
const probe = async (gc) => JSON.parse((await get(`http://127.0.0.1:${pport}/${gc ? 'settled' : 'usage'}`, { keep: true })).body)
const MB = (x) => (x / 2 ** 20).toFixed(1)
const fmt = (m) => `rss ${MB(m.rss)} heapTotal ${MB(m.heapTotal)} heapUsed ${MB(m.heapUsed)} external ${MB(m.external)} arrayBuffers ${MB(m.arrayBuffers)}`
try {
  for (let i = 0; i < 4; i++) await get(`${proxy.url}/p/${16 << 20}`)
  await Promise.all(Array.from({ length: 8 }, () => get(`${proxy.url}/p/${4 << 20}`)))
  await sleep(1000)
  const idle = await probe(false)
  console.log('idle        ', fmt(idle.before))
  const idleGc = await probe(true)
  console.log('idle gc     ', fmt(idleGc.after))
  await sleep(300)
  const idleAfter = memoryOf(proxy.pid).rss
  const rate = kind === 'slow' ? 1 << 20 : 0, seconds = kind === 'slow' ? 12 : 0
  const client = run(process.execPath, [path.join(BENCH, 'clients/download.mjs'), JSON.stringify({ url: `${proxy.url}/p/${size}/${kind}-{i}`, count: STREAMS, rate, seconds })], { timeoutMs: 600_000 })
  let peak = 0; const samples = []
  const t0 = Date.now()
  let gcDone = false, settled
  let done = false; client.then(() => (done = true))
  while (!done) {
    await sleep(200)
    if (done) break
    const p = await probe(false)
    samples.push(p.before); peak = Math.max(peak, p.before.rss)
    if (!gcDone && Date.now() - t0 > (kind === 'slow' ? 8000 : 6000)) { gcDone = true; settled = await probe(true); console.log('mid before gc', fmt(settled.before)); console.log('mid after gc ', fmt(settled.after)); console.log('sockets', JSON.stringify(settled.sockets)) }
  }
  const out = JSON.parse(await client)
  const max = (f) => Math.max(...samples.map((s) => s[f]))
  const med = (f) => { const a = samples.map((s) => s[f]).sort((x, y) => x - y); return a[a.length >> 1] }
  console.log(`samples ${samples.length}; max: rss ${MB(max('rss'))} heapUsed ${MB(max('heapUsed'))} heapTotal ${MB(max('heapTotal'))} external ${MB(max('external'))} ab ${MB(max('arrayBuffers'))}`)
  console.log(`median: rss ${MB(med('rss'))} heapUsed ${MB(med('heapUsed'))} heapTotal ${MB(med('heapTotal'))} external ${MB(med('external'))} ab ${MB(med('arrayBuffers'))}`)
  console.log(`per stream (peak sampled rss - idle)/N: ${((peak - idle.before.rss) / STREAMS / 1024).toFixed(0)} KB; median ${((med('rss') - idle.before.rss) / STREAMS / 1024).toFixed(0)} KB`)
  if (settled) console.log(`per stream GC-settled (mid-run rss after GCs - idle rss after GCs)/N: ${((settled.after.rss - idleGc.after.rss) / STREAMS / 1024).toFixed(0)} KB; heapUsed ${((settled.after.heapUsed - idleGc.after.heapUsed) / STREAMS / 1024).toFixed(0)} KB ab ${((settled.after.arrayBuffers - idleGc.after.arrayBuffers) / STREAMS / 1024).toFixed(0)} KB`)
  console.log(`client ${out.mbps.toFixed(0)} MB/s, ${out.seconds.toFixed(1)} s`)
} finally { await stopAll() }
