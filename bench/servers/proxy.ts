/**
 * The proxy under test, from this repository's src/: `createYatagarasu` with buckets on
 * the bench origin: `/c` cached (memory store), `/p` pass-through, `/z` cached and
 * gzip-compressed, `/r` presigned redirects, `/s` cached and served stale while revalidated.
 *
 * argv[2]: the origin URL; argv[3]: the bridge on Node —
 * - `node` (default): this repository's Node adapter (`serve` from yatagarasu/node);
 * - `hono`: `@hono/node-server`'s `serve`, as its README shows (it replaces the global
 *   `Request`/`Response` with its lighter ones, its default);
 * - `srvx`: srvx's `serve`, with the global `Response` set to its `FastResponse` (what
 *   its docs advise for speed; srvx itself leaves globals alone);
 * - `hono-plain`, `srvx-plain` (experiments only): the same without touching globals
 *   (`overrideGlobalObjects: false`; the global `Response` kept), as a library must.
 * The references get the same S3 transport (`nodeFetch`) through the handler's options,
 * so only the bridge differs. On Bun it is served by `Bun.serve`. Prints `{"ready": url}`.
 *
 * `<bridge>+undici` (e.g. `node+undici`): the same with `undiciFetch` (src/s3/transports/undici.ts)
 * as the S3 transport instead of `nodeFetch`.
 */
import { createYatagarasu, silentLogger } from '../../src/index.js'

declare const Bun: any

const origin = process.argv[2]
if (!origin) throw new Error('usage: proxy <origin-url> [node|hono|srvx]')
const s3 = { bucket: 'bench', region: 'us-east-1', endpoint: origin, accessKey: 'BENCHKEY', secretKey: 'bench-secret-key' }
const config = {
  buckets: [
    { name: 'cached', pathPrefix: '/c', s3, cache: { enabled: true, ttl: 3600, maxSize: '64MB', maxItemSize: '16MB' } },
    { name: 'pass', pathPrefix: '/p', s3 },
    // Section 8: the same cached objects compressed (the origin says application/octet-stream), and presigned redirects.
    {
      name: 'gzip',
      pathPrefix: '/z',
      s3,
      cache: { enabled: true, ttl: 3600, maxSize: '64MB', maxItemSize: '16MB' },
      compression: { enabled: true, minSize: 1, types: ['application/octet-stream'] },
    },
    { name: 'redirect', pathPrefix: '/r', s3, redirect: { enabled: true, expiresSeconds: 300 } },
    // Section 8: stale hits. Fresh for 1 ms, then served STALE for an hour while one
    // background conditional GET at a time renews the entry (the origin answers 304).
    {
      name: 'stale',
      pathPrefix: '/s',
      s3,
      cache: { enabled: true, ttl: 0.001, staleWhileRevalidate: 3600, maxSize: '64MB', maxItemSize: '16MB' },
    },
  ],
}

// The S3 transport on Node, when the experiment asks for another one than the entry points use.
const [bridge = 'node', transportName] = (process.argv[3] ?? 'node').split('+')
const transport = transportName === 'undici' ? (await import('../../src/s3/transports/undici.js')).undiciFetch : undefined

let url: string
if (typeof Bun !== 'undefined') {
  const handler = createYatagarasu(config, { logger: silentLogger })
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: handler, idleTimeout: 120 })
  url = `http://127.0.0.1:${server.port}`
} else if (bridge === 'node') {
  const { serve } = await import('../../src/adapters/node.js')
  const server = await serve(createYatagarasu(config, { logger: silentLogger, ...(transport && { fetch: transport }) }), { hostname: '127.0.0.1', port: 0 })
  server.server.keepAliveTimeout = 60_000
  url = server.url
} else {
  const { nodeFetch } = await import('../../src/adapters/node.js')
  const handler = createYatagarasu(config, { logger: silentLogger, fetch: transport ?? nodeFetch })
  if (bridge === 'hono' || bridge === 'hono-plain') {
    const { serve } = await import('@hono/node-server')
    const overrideGlobalObjects = bridge === 'hono'
    url = await new Promise<string>((resolve) => {
      const server = serve({ fetch: (request: Request) => handler(request), hostname: '127.0.0.1', port: 0, overrideGlobalObjects }, (info) =>
        resolve(`http://127.0.0.1:${info.port}`),
      )
      ;(server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 60_000
    })
  } else if (bridge === 'srvx' || bridge === 'srvx-plain') {
    const { serve, FastResponse } = await import('srvx')
    if (bridge === 'srvx') globalThis.Response = FastResponse as unknown as typeof Response
    const server = serve({ fetch: (request: Request) => handler(request), hostname: '127.0.0.1', port: 0, silent: true })
    await server.ready()
    ;(server.node!.server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 60_000
    url = server.url!.replace(/\/$/, '')
  } else {
    throw new Error(`unknown bridge ${bridge}`)
  }
}
process.stdout.write(JSON.stringify({ ready: url }) + '\n')
process.on('SIGTERM', () => process.exit(0))
