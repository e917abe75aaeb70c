/**
 * The disconnect scenario, with the proxy instrumented (disconnect-probe.mjs): how many
 * bytes the proxy read from the origin socket after it saw the client leave, and how
 * many the origin had handed to its socket that the proxy never read (kernel buffers).
 *
 *   node bench/experiments/disconnect-reads.mjs <server script> [trials]
 *   e.g. node bench/experiments/disconnect-reads.mjs bench/.build/proxy.mjs 12
 */
import http from 'node:http'
import { spawn } from 'node:child_process'
import { get, now, sleep, startServer, stopAll } from '../lib/procs.mjs'
const [script, trialsArg] = process.argv.slice(2)
const origin = await startServer('origin', process.execPath, [new URL('../servers/origin.mjs', import.meta.url).pathname])
const child = spawn(process.execPath, ['--import', new URL('./disconnect-probe.mjs', import.meta.url).pathname, script, origin.url], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ORIGIN_PORT: new URL(origin.url).port } })
let out = '', err = ''
child.stderr.on('data', (c) => (err += c))
const url = await new Promise((resolve) => child.stdout.on('data', (c) => { out += c; const m = /\{"ready":"([^"]+)"\}/.exec(out); if (m) resolve(m[1]) }))
const rows = []
for (let i = 0; i < Number(trialsArg ?? 10); i++) {
  const tag = `disc-x-${i}`
  const mark = err.length
  const r = await once(tag)
  await sleep(100)
  const ev = err.slice(mark).split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l) } catch { return undefined } }).filter((e) => e?.ev === 'originClose').pop()
  rows.push({ afterMB: +(r.afterBytes / 2 ** 20).toFixed(2), cancelMs: +r.cancelMs.toFixed(1), proxyReadAfterClientCloseKB: ev ? Math.round((ev.bytesRead - ev.atClientClose) / 1024) : null, inKernelAtCloseKB: ev ? Math.round((r.originBytes - ev.bytesRead) / 1024) : null, detectMs: ev ? +(ev.clientCloseT - r.leftAt).toFixed(1) : null })
}
console.log(rows.map((r) => JSON.stringify(r)).join('\n'))
child.kill(); await stopAll()

function once(tag) {
  const readBytes = 8 << 20
  return new Promise((resolve, reject) => {
    let received = 0, leftAt = 0
    const request = http.get(`${url}/p/${1 << 30}/${tag}`, { agent: false }, (response) => {
      response.on('data', (chunk) => {
        received += chunk.length
        if (leftAt === 0 && received >= readBytes) { leftAt = now(); request.destroy(); void settle() }
      })
    })
    request.on('error', () => {})
    async function settle() {
      for (;;) {
        await sleep(50)
        const record = JSON.parse((await get(`${origin.url}/__stats?prefix=${tag}`, { keep: true })).body)[tag]
        if (record.closedAt > 0) {
          let atLeave = 0
          for (const [time, sent] of record.timeline) if (time <= leftAt) atLeave = sent
          return resolve({ afterBytes: record.bytes - atLeave, cancelMs: record.closedAt - leftAt, originBytes: record.bytes, leftAt })
        }
      }
    }
  })
}
