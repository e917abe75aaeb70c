/**
 * The proxy transforming images: `createYatagarasu` with `images` on one bucket and
 * `sharpTransformer()`, served by the Node adapter. Its "S3" answers the JPEG from
 * memory (signing still runs), so the figure is the proxy's own cost around sharp:
 * routing, parameters, the bounded source read, the transform and the HTTP answer.
 *
 * argv[2]: the JPEG's path. Prints `{"ready": url}`; the image is `/i/photo.jpg`.
 */
import { readFileSync } from 'node:fs'
import { serve } from '../../src/adapters/node.js'
import { sharpTransformer } from '../../src/images/sharp-transformer.js'
import { createYatagarasu, silentLogger } from '../../src/index.js'

const source = readFileSync(process.argv[2]!)
const s3 = { bucket: 'bench', region: 'us-east-1', endpoint: 'http://s3.invalid', accessKey: 'BENCHKEY', secretKey: 'bench-secret-key' }
const config = {
  // No cache: every request is a transform. maxConcurrent is above the load's concurrency.
  buckets: [{ name: 'images', pathPrefix: '/i', s3, images: { enabled: true, maxConcurrent: 64 } }],
}
const headers = { 'content-type': 'image/jpeg', 'content-length': String(source.byteLength), etag: '"bench-photo"' }
const memoryS3 = async () => new Response(new Uint8Array(source), { status: 200, headers })

const handler = createYatagarasu(config, { logger: silentLogger, fetch: memoryS3, imageTransformer: sharpTransformer() })
const server = await serve(handler, { hostname: '127.0.0.1', port: 0 })
process.stdout.write(JSON.stringify({ ready: server.url }) + '\n')
process.on('SIGTERM', () => process.exit(0))
