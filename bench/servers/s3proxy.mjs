/**
 * The peer: the npm package `s3proxy` (4.x) on plain `node:http`, as its README shows
 * (`proxy.pipe(req, res)`), pointed at the bench origin (path-style endpoint).
 * Run with Node >= 22: `node s3proxy.mjs <origin-url> <path-to-s3proxy-entry>`.
 */
import http from 'node:http'
import { pathToFileURL } from 'node:url'

const [origin, entry] = process.argv.slice(2)
const { S3Proxy } = await import(pathToFileURL(entry).href)
const proxy = new S3Proxy({
  bucket: 'bench',
  endpoint: origin,
  forcePathStyle: true,
  region: 'us-east-1',
  credentials: { accessKeyId: 'BENCHKEY', secretAccessKey: 'bench-secret-key' },
  verifyOnInit: false,
})
await proxy.init()
const server = http.createServer((req, res) => {
  // `/p/<key>` like the proxy's pass-through bucket: strip the prefix.
  if (req.url.startsWith('/p/')) req.url = req.url.slice(2)
  proxy.pipe(req, res)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ ready: `http://127.0.0.1:${server.address().port}` }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
