/**
 * Downloads `count` copies of a URL at once and reports what each stream did.
 *
 *   node download.mjs '{"url": "http://.../p/268435456/fast-{i}", "count": 50,
 *                       "rate": 0, "seconds": 0}'
 *
 * `{i}` in the URL is replaced by the stream's index. `rate` (bytes/s, 0 = as fast as
 * possible) paces each reader: it pauses the response whenever it is ahead of
 * schedule, so the socket stops being read and TCP backpressure reaches the server.
 * `seconds` (0 = until the end) stops every stream after that long. Prints one JSON
 * line: per-stream bytes and times, total MB/s.
 */
import http from 'node:http'

const now = () => performance.timeOrigin + performance.now()
const options = JSON.parse(process.argv[2])
const { url, count = 1, rate = 0, seconds = 0 } = options
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity })

function one(index) {
  return new Promise((resolve) => {
    const started = now()
    let bytes = 0
    let status = 0
    let firstByteAt = 0
    let stopTimer
    const request = http.get(url.replaceAll('{i}', String(index)), { agent }, (response) => {
      status = response.statusCode
      response.on('data', (chunk) => {
        if (firstByteAt === 0) firstByteAt = now()
        bytes += chunk.length
        if (rate > 0) {
          const ahead = bytes / rate - (now() - started) / 1000
          if (ahead > 0.001) {
            response.pause()
            setTimeout(() => response.resume(), ahead * 1000)
          }
        }
      })
      response.on('end', () => finish(true))
      response.on('error', () => finish(false))
      response.on('close', () => finish(response.complete))
    })
    request.on('error', () => finish(false))
    if (seconds > 0) stopTimer = setTimeout(() => finish(false, true), seconds * 1000)
    let done = false
    function finish(complete, stopped = false) {
      if (done) return
      done = true
      clearTimeout(stopTimer)
      const endedAt = now()
      if (stopped) request.destroy()
      resolve({ index, status, bytes, complete, startedAt: started, firstByteAt, endedAt })
    }
  })
}

const started = now()
const streams = await Promise.all(Array.from({ length: count }, (_, i) => one(i)))
const elapsed = (now() - started) / 1000
const total = streams.reduce((sum, s) => sum + s.bytes, 0)
process.stdout.write(JSON.stringify({ streams, seconds: elapsed, bytes: total, mbps: total / 1e6 / elapsed }) + '\n')
