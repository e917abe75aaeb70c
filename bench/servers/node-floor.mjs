/**
 * The Node floor: bare `node:http` answering `GET /<anything>/<size>` with `<size>`
 * bytes from memory and the headers a cache hit carries. Nothing a proxy could do on
 * Node is faster than this.
 */
import http from 'node:http'

const bodies = new Map()
const LAST_MODIFIED = new Date(Date.UTC(2026, 0, 1)).toUTCString()

const server = http.createServer((req, res) => {
  const size = Number((req.url ?? '').split('/')[2])
  let body = bodies.get(size)
  if (body === undefined) {
    if (!Number.isSafeInteger(size) || size > 16 << 20) {
      res.writeHead(404, { 'content-length': 0 })
      return res.end()
    }
    body = Buffer.alloc(size, 97)
    bodies.set(size, body)
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': body.byteLength,
    etag: `"${size.toString(16)}-bench"`,
    'last-modified': LAST_MODIFIED,
    'accept-ranges': 'bytes',
  })
  res.end(req.method === 'HEAD' ? undefined : body)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ ready: `http://127.0.0.1:${server.address().port}` }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
