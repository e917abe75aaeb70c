/**
 * One 1 KB cache hit in-process, without sockets: the Node adapter's request
 * (`createNodeRequest`), the whole handler of bench/servers/proxy.ts's cached bucket, and
 * the header list the adapter would write. Shared by hit-cost.ts and hit-ab.mjs (which
 * bundles it against two source trees).
 */
import { bytesOf, bytesResponse } from '../../src/adapters/node/bytes-response.js'
import { headerPairs } from '../../src/adapters/node/headers.js'
import { createNodeRequest, requestUrl } from '../../src/adapters/node/request.js'
import { createYatagarasu, silentLogger } from '../../src/index.js'

/** Resolves, once the object is cached, with a function that serves one hit. */
export async function createHit(): Promise<() => Promise<Response>> {
  const body = new Uint8Array(1024)
  const origin = async () =>
    new Response(body, { headers: { 'content-length': '1024', etag: '"x"', 'last-modified': new Date(0).toUTCString(), 'content-type': 'application/octet-stream' } })
  const s3 = { bucket: 'bench', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', accessKey: 'BENCHKEY', secretKey: 'bench-secret-key' }
  // The buckets of bench/servers/proxy.ts: the middlewares of redirects and compression are in the chain.
  const handler = createYatagarasu(
    {
      buckets: [
        { name: 'cached', pathPrefix: '/c', s3, cache: { enabled: true, ttl: 3600, maxSize: '64MB', maxItemSize: '16MB' } },
        { name: 'pass', pathPrefix: '/p', s3 },
        {
          name: 'gzip',
          pathPrefix: '/z',
          s3,
          cache: { enabled: true, ttl: 3600, maxSize: '64MB', maxItemSize: '16MB' },
          compression: { enabled: true, minSize: 1, types: ['application/octet-stream'] },
        },
        { name: 'redirect', pathPrefix: '/r', s3, redirect: { enabled: true, expiresSeconds: 300 } },
      ],
    },
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
  return hit
}
