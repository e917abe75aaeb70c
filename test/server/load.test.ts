/**
 * A bounded load test on loopback: 20,000 mixed requests at 200 concurrency through
 * the Node adapter, against a fast local origin. Every answer must be the expected
 * one (zero errors, zero transport failures), and memory must come back near its
 * baseline afterwards (nothing retained per request: rate-limit buckets are bounded,
 * breakers and budgets are per target, streams are released).
 *
 * It asserts correctness and memory, never speed: the figures are printed for the
 * record (this machine is shared).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import v8 from 'node:v8'
import vm from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import { createYatagarasu, silentLogger } from '../../src/index.js'
import { nextTurn } from '../support/wait.js'

const TOTAL = 20_000
const CONCURRENCY = 200
const BODY = Buffer.alloc(2048, 'x')

v8.setFlagsFromString('--expose_gc')
const gc = vm.runInNewContext('gc') as () => void

let origin: http.Server
let originUrl: string
let originRequests = 0
let proxy: NodeServer

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    originRequests++
    if (req.url?.includes('missing')) {
      res.writeHead(404, { 'Content-Type': 'application/xml', 'Content-Length': '8' })
      return void res.end('<Error/>')
    }
    if (req.headers.range === 'bytes=0-9') {
      res.writeHead(206, { 'Content-Type': 'text/plain', 'Content-Length': '10', 'Content-Range': `bytes 0-9/${BODY.length}` })
      return void res.end(req.method === 'HEAD' ? undefined : BODY.subarray(0, 10))
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(BODY.length), ETag: '"v1"' })
    res.end(req.method === 'HEAD' ? undefined : BODY)
  })
  origin.keepAliveTimeout = 10_000
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
  const s3 = { bucket: 'load', region: 'us-east-1', endpoint: originUrl, accessKey: 'AK', secretKey: 'SK', retries: 1 }
  proxy = await serve(
    createYatagarasu(
      {
        rateLimiting: { requestsPerSecond: 1_000_000, burstSize: 1_000_000, key: 'ip' },
        buckets: [
          {
            name: 'pub',
            pathPrefix: '/pub',
            s3: { ...s3, circuitBreaker: { failureThreshold: 50 } },
            cors: { allowedOrigins: ['https://app.example.com'] },
          },
          { name: 'guarded', pathPrefix: '/guarded', s3, ipFilter: { allow: ['127.0.0.0/8', '::1'] } },
          { name: 'limited', pathPrefix: '/limited', s3, rateLimiting: { requestsPerSecond: 0.001, burstSize: 100, key: 'global' } },
        ],
      },
      { logger: silentLogger },
    ),
  )
})

afterAll(async () => {
  await proxy?.close()
  origin?.closeAllConnections()
  await new Promise<void>((resolve) => origin?.close(() => resolve()))
})

interface Kind {
  name: string
  method: string
  path: (i: number) => string
  headers?: Record<string, string>
  expect: number | ((i: number) => number)
  bodyLength?: number
  reachesOrigin: boolean
}

const KINDS: Kind[] = [
  { name: 'get', method: 'GET', path: (i) => `/pub/objects/${i % 500}.txt`, expect: 200, bodyLength: BODY.length, reachesOrigin: true },
  { name: 'get-cors', method: 'GET', path: (i) => `/pub/a${i % 50}`, headers: { Origin: 'https://app.example.com' }, expect: 200, bodyLength: BODY.length, reachesOrigin: true },
  { name: 'range', method: 'GET', path: () => '/pub/ranged', headers: { Range: 'bytes=0-9' }, expect: 206, bodyLength: 10, reachesOrigin: true },
  { name: 'head', method: 'HEAD', path: (i) => `/guarded/h${i % 20}`, expect: 200, bodyLength: 0, reachesOrigin: true },
  { name: 'missing', method: 'GET', path: (i) => `/pub/missing-${i}`, expect: 404, reachesOrigin: true },
  { name: 'write', method: 'DELETE', path: () => '/pub/x', expect: 405, reachesOrigin: false },
  { name: 'preflight', method: 'OPTIONS', path: () => '/pub/x', headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'GET' }, expect: 204, reachesOrigin: false },
  { name: 'traversal', method: 'GET', path: () => '/pub/a/%2e%2e/%2e%2e/etc/passwd', expect: 400, reachesOrigin: false },
  { name: 'no-bucket', method: 'GET', path: () => '/nowhere/x', expect: 404, reachesOrigin: false },
  { name: 'long-url', method: 'GET', path: () => `/pub/x?${'q'.repeat(9000)}`, expect: 414, reachesOrigin: false },
]
// The limited bucket lets its first 100 requests through (the burst) and then 429s.
const LIMITED: Kind = { name: 'limited', method: 'GET', path: () => '/limited/x', expect: 0, reachesOrigin: true }

function send(agent: http.Agent, kind: Kind, i: number): Promise<{ status: number; length: number }> {
  return new Promise((resolve, reject) => {
    // `path` as an option is sent verbatim (a URL string would resolve `%2e%2e` first).
    const { hostname, port } = new URL(proxy.url)
    const options = { hostname, port, path: kind.path(i), method: kind.method, headers: kind.headers, agent }
    const req = http.request(options, (res) => {
      let length = 0
      res.on('data', (chunk: Buffer) => (length += chunk.length))
      res.once('end', () => (res.complete ? resolve({ status: res.statusCode ?? 0, length }) : reject(new Error('incomplete body'))))
      res.once('error', reject)
    })
    req.once('error', reject)
    req.end()
  })
}

async function run(count: number, agent: http.Agent) {
  const statuses = new Map<string, Map<number, number>>()
  const mismatches: string[] = []
  let limitedOk = 0
  let next = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= count) return
      const kind = i % 40 === 39 ? LIMITED : KINDS[i % KINDS.length]!
      const { status, length } = await send(agent, kind, i)
      const byKind = statuses.get(kind.name) ?? new Map<number, number>()
      byKind.set(status, (byKind.get(status) ?? 0) + 1)
      statuses.set(kind.name, byKind)
      if (kind === LIMITED) {
        if (status === 200) limitedOk++
        else if (status !== 429) mismatches.push(`${kind.name}: ${status}`)
        continue
      }
      if (status !== kind.expect) mismatches.push(`${kind.name}: ${status}`)
      if (kind.bodyLength !== undefined && length !== kind.bodyLength) mismatches.push(`${kind.name}: ${length} bytes`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return { statuses, mismatches, limitedOk }
}

describe('load', () => {
  it(`serves ${TOTAL} mixed requests at ${CONCURRENCY} concurrency with zero errors, and memory returns near baseline`, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    try {
      await run(4_000, agent) // warm-up: JIT, sockets, signing key cache
      gc()
      gc()
      const before = process.memoryUsage()
      originRequests = 0

      const started = performance.now()
      const result = await run(TOTAL, agent)
      const seconds = (performance.now() - started) / 1000

      expect(result.mismatches.slice(0, 10)).toEqual([])
      expect(result.limitedOk).toBe(0) // the burst of 100 was spent during warm-up
      const expectedAtOrigin = Array.from({ length: TOTAL }, (_, i) => (i % 40 === 39 ? false : KINDS[i % KINDS.length]!.reachesOrigin)).filter(Boolean).length
      expect(originRequests).toBe(expectedAtOrigin)

      await nextTurn(20) // the last responses' socket and stream callbacks run before measuring
      gc()
      gc()
      const after = process.memoryUsage()
      const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10
      console.info(
        JSON.stringify({
          requests: TOTAL,
          concurrency: CONCURRENCY,
          seconds: Math.round(seconds * 10) / 10,
          requestsPerSecond: Math.round(TOTAL / seconds),
          heapUsedMB: { before: mb(before.heapUsed), after: mb(after.heapUsed) },
          rssMB: { before: mb(before.rss), after: mb(after.rss) },
          statuses: Object.fromEntries([...result.statuses].map(([k, v]) => [k, Object.fromEntries(v)])),
        }),
      )
      // Near baseline: a leak of even 1 KB per request would add ~20 MB of heap.
      expect(after.heapUsed - before.heapUsed).toBeLessThan(15 * 1024 * 1024)
      // RSS moves with the allocator and GC heuristics; only a gross leak trips this.
      expect(after.rss - before.rss).toBeLessThan(150 * 1024 * 1024)
    } finally {
      agent.destroy()
    }
  }, 180_000)
})
