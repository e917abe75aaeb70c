/**
 * The proxy under test, from this repository's src/: `createYatagarasu` with two
 * buckets on the bench origin, `/c` cached (memory store) and `/p` pass-through. On
 * Node it is served by the Node adapter (`serve`), on Bun by `Bun.serve`.
 *
 * argv[2]: the origin URL. Prints `{"ready": url}` once listening.
 */
import { createYatagarasu, silentLogger } from '../../src/index.js'

declare const Bun: any

const origin = process.argv[2]
if (!origin) throw new Error('usage: proxy <origin-url>')
const s3 = { bucket: 'bench', region: 'us-east-1', endpoint: origin, accessKey: 'BENCHKEY', secretKey: 'bench-secret-key' }
const handler = createYatagarasu(
  {
    buckets: [
      { name: 'cached', pathPrefix: '/c', s3, cache: { enabled: true, ttl: 3600, maxSize: '64MB', maxItemSize: '1MB' } },
      { name: 'pass', pathPrefix: '/p', s3 },
    ],
  },
  { logger: silentLogger },
)

let url: string
if (typeof Bun !== 'undefined') {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: handler, idleTimeout: 120 })
  url = `http://127.0.0.1:${server.port}`
} else {
  const { serve } = await import('../../src/adapters/node.js')
  const server = await serve(handler, { hostname: '127.0.0.1', port: 0 })
  server.server.keepAliveTimeout = 60_000
  url = server.url
}
process.stdout.write(JSON.stringify({ ready: url }) + '\n')
process.on('SIGTERM', () => process.exit(0))
