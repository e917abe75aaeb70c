/**
 * What a Web `Response` with a body costs a Node server, before any proxy logic: one
 * node:http process answering 1 KB from memory in four ways, interleaved round by round
 * under the same load (32 keep-alive connections; server on core 0, wrk on core 1):
 *   floor      res.end(bytes)
 *   construct  also builds `new Response(bytes, { headers })`, unused
 *   read       builds it and writes its body by reading `response.body` (what any adapter must do)
 *   adapter    the Node adapter (`serve`) around a handler that returns that Response
 *
 *   node bench/experiments/response-cost.mjs [rounds=3] [node binary]
 */
import http from 'node:http'
import path from 'node:path'
import { load } from '../lib/load.mjs'
import { median, run, startServer, stopAll } from '../lib/procs.mjs'

const BODY = new Uint8Array(1024).fill(97)
const HEADERS = { 'content-type': 'application/octet-stream', 'content-length': '1024' }

if (process.argv[2] === '--serve') {
  const mode = process.argv[3]
  let listener
  if (mode === 'adapter') {
    const { toNodeListener } = await import(path.resolve(import.meta.dirname, '../../dist/node.js'))
    listener = toNodeListener(async () => new Response(BODY, { headers: HEADERS }))
  } else {
    listener = async (req, res) => {
      if (mode === 'floor') return void res.writeHead(200, HEADERS).end(BODY)
      const response = new Response(BODY, { headers: HEADERS })
      if (mode === 'construct') return void res.writeHead(200, HEADERS).end(BODY)
      const reader = response.body.getReader()
      res.writeHead(200, HEADERS)
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) res.write(chunk.value)
      res.end()
    }
  }
  const server = http.createServer(listener)
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ ready: `http://127.0.0.1:${server.address().port}` })))
} else {
  const rounds = Number(process.argv[2] ?? 3)
  const node = process.argv[3] ?? process.execPath
  const modes = ['floor', 'construct', 'read', 'adapter']
  const rps = Object.fromEntries(modes.map((mode) => [mode, []]))
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      const server = await startServer(mode, node, [import.meta.filename, '--serve', mode], { cpu: 0 })
      await load(`${server.url}/x`, { connections: 32, seconds: 1, cpu: 1 })
      rps[mode].push((await load(`${server.url}/x`, { connections: 32, seconds: 4, cpu: 1 })).rps)
      await stopAll()
    }
  }
  const version = (await run(node, ['--version'])).trim()
  const floor = median(rps.floor)
  console.log(`${version}, median of ${rounds} rounds (req/s, × floor):`)
  for (const mode of modes) console.log(`  ${mode.padEnd(10)} ${Math.round(median(rps[mode]))}  ${(median(rps[mode]) / floor).toFixed(2)} ×`)
}
