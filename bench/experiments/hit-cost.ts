/**
 * CPU time of one 1 KB cache hit in-process, without sockets: the Node adapter's request
 * (`createNodeRequest`), the whole handler of bench/servers/proxy.ts's cached bucket, and
 * the header list the adapter would write. Medians of 7 rounds.
 *
 *   node bench/experiments/hit-cost.mjs [iterations per round]   (bundles this file first)
 *
 * Run it with `--cpu-prof` (`node --cpu-prof bench/.build/hit-cost.mjs`) to see where a
 * hit's time goes apart from Node's HTTP server and the socket writes.
 */
import { bytesOf, bytesResponse } from '../../src/adapters/node/bytes-response.js'
import { headerPairs } from '../../src/adapters/node/headers.js'
import { createNodeRequest, requestUrl } from '../../src/adapters/node/request.js'
import { createYatagarasu, silentLogger } from '../../src/index.js'

const body = new Uint8Array(1024)
const origin = async () =>
  new Response(body, { headers: { 'content-length': '1024', etag: '"x"', 'last-modified': new Date(0).toUTCString(), 'content-type': 'application/octet-stream' } })
const s3 = { bucket: 'bench', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', accessKey: 'BENCHKEY', secretKey: 'bench-secret-key' }
const handler = createYatagarasu(
  { buckets: [{ name: 'cached', pathPrefix: '/c', s3, cache: { enabled: true, ttl: 3600, maxSize: '64MB', maxItemSize: '16MB' } }] },
  { logger: silentLogger, fetch: origin },
)
// What Node's http server hands the listener, as far as the adapter reads it.
const req = {
  method: 'GET',
  url: '/c/1024',
  rawHeaders: ['Host', '127.0.0.1:8080', 'User-Agent', 'wrk', 'Accept', '*/*'],
  headers: { host: '127.0.0.1:8080', 'user-agent': 'wrk', accept: '*/*' },
  socket: { remoteAddress: '127.0.0.1' },
} as unknown as import('node:http').IncomingMessage
const context = { clientIp: '127.0.0.1', waitUntil: (p: Promise<unknown>) => void p.catch(() => {}), rawPath: '/c/1024', bytesResponse }

async function hit(): Promise<Response> {
  const response = await handler(createNodeRequest(req, requestUrl(req, '/c/1024')), context)
  if (headerPairs(response.headers) === undefined || bytesOf(response) === undefined) throw new Error('not the fast path')
  return response
}

await (await handler(createNodeRequest(req, requestUrl(req, '/c/1024')), context)).arrayBuffer()
await new Promise((resolve) => setTimeout(resolve, 50))
if ((await hit()).headers.get('x-cache') !== 'HIT') throw new Error('not a hit')
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
