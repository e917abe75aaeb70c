/**
 * The image floor: sharp called directly on the same 12-megapixel JPEG, the same
 * operation as the proxy's `?w=800&fmt=webp` (EXIF orientation applied, resized to 800
 * pixels wide, WebP), with no HTTP, no S3 and no proxy around it.
 *
 * argv[2]: the JPEG's path. Prints `{"ready": url}`; `GET /run?concurrency=C&seconds=S`
 * runs C loops of transforms for S seconds and answers `{"transforms", "seconds"}`.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import sharp from 'sharp'
import { timedLoops } from '../lib/timed-loops.mjs'

const source = readFileSync(process.argv[2])

async function transformLoops(concurrency, seconds) {
  const { completed, seconds: took } = await timedLoops(concurrency, seconds, () => sharp(source).autoOrient().resize({ width: 800 }).webp().toBuffer())
  return { transforms: completed, seconds: took }
}

const server = http.createServer(async (request, response) => {
  const url = new URL(request.url, 'http://floor')
  const result = await transformLoops(Number(url.searchParams.get('concurrency')), Number(url.searchParams.get('seconds')))
  response.setHeader('content-type', 'application/json')
  response.end(JSON.stringify(result))
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ ready: `http://127.0.0.1:${server.address().port}` }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
