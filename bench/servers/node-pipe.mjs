/**
 * The streaming floor on Node: a bare `node:http` proxy that pipes the origin's
 * response to the client (`http.get(...).pipe(res)`), with no Request/Response, no
 * signing and no checks. What any Node proxy pays for the extra hop.
 *
 * argv[2]: the origin URL; `GET /p/<key>` is fetched as `<origin>/bench/<key>`.
 */
import http from 'node:http'

const origin = process.argv[2]
const agent = new http.Agent({ keepAlive: true })
const server = http.createServer((req, res) => {
  const upstream = http.get(`${origin}/bench/${req.url.slice(3)}`, { agent }, (response) => {
    res.writeHead(response.statusCode, { 'content-type': response.headers['content-type'], 'content-length': response.headers['content-length'] })
    response.pipe(res)
  })
  upstream.on('error', () => res.destroy())
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy()
  })
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ ready: `http://127.0.0.1:${server.address().port}` }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
