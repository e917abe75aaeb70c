/**
 * Preloaded (`node --expose-gc --import`) into the proxy for the memory scenario:
 * listens on 127.0.0.1:$MEMORY_PROBE_PORT and answers `process.memoryUsage()`.
 * `GET /settled` first runs full garbage collections (one, then two more 10 ms later, so
 * the ArrayBuffers they free are swept and no longer counted), which tells what the streams actually
 * hold from what is garbage not yet collected.
 */
import http from 'node:http'

const port = Number(process.env.MEMORY_PROBE_PORT)
const usage = () => {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage()
  return { rss, heapTotal, heapUsed, external, arrayBuffers }
}
if (port > 0) {
  const server = http.createServer(async (req, res) => {
    const before = usage()
    let after
    if (req.url === '/settled' && typeof globalThis.gc === 'function') {
      globalThis.gc()
      await new Promise((resolve) => setTimeout(resolve, 10))
      // Back to back: a GC first finishes sweeping the ArrayBuffers the previous one freed.
      globalThis.gc()
      globalThis.gc()
      after = usage()
    }
    const body = JSON.stringify({ before, after })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  server.listen(port, '127.0.0.1')
  server.unref()
}
