/**
 * The demo's local S3 (also the store under the tests' S3 harness): s3rver, behind a
 * small front that gives suffix ranges S3's meaning.
 *
 * s3rver 3.7 reads `Range: bytes=-5` as "bytes 0 to 5" (it splits on `-` and takes the
 * missing start as 0), so a client would get the first six bytes of an object and blame
 * the proxy in front. S3 answers the last five. The front asks s3rver for the object's
 * size (a HEAD) and forwards the same range with an absolute start (`bytes=18-` for the
 * last 5 of 23 bytes), which s3rver does get right (`bytes 18-22/23`). Everything else
 * passes through untouched, streamed both ways.
 *
 * Multi-range requests are left alone: s3rver answers them with the whole object, which
 * is what S3 does too.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'

/** `n` of `bytes=-n`, or undefined for any other Range value. */
export function suffixLength(range) {
  const match = /^bytes=-(\d+)$/.exec(range ?? '')
  return match ? Number(match[1]) : undefined
}

/**
 * The Range header meaning the last `n` bytes of a `size`-byte object, written with an
 * absolute start. `bytes=-0` and any suffix of an empty object are unsatisfiable (RFC 9110
 * 14.1.1): they become a start past the end, which s3rver refuses with 416 like S3.
 */
export function absoluteSuffixRange(n, size) {
  if (n === 0 || size === 0) return `bytes=${size}-`
  return `bytes=${Math.max(0, size - n)}-`
}

/** Connection-level headers that a proxy must not pass on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

function endToEnd(headers) {
  return Object.fromEntries(Object.entries(headers).filter(([name, value]) => value !== undefined && !HOP_BY_HOP.has(name)))
}

/**
 * Starts s3rver with `buckets` in `directory` (default: a temp directory, removed by close;
 * one given is kept, e.g. a volume) and the front on `host:port` (port 0: any free port).
 * Resolves with the front's endpoint.
 */
export async function startLocalS3({ buckets, host = '127.0.0.1', port = 0, directory: keptDirectory }) {
  const directory = keptDirectory ?? mkdtempSync(join(tmpdir(), 'yatagarasu-s3-'))
  const removeDirectory = () => {
    if (keptDirectory === undefined) rmSync(directory, { recursive: true, force: true })
  }
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  })
  const { port: s3rverPort } = await s3rver.run()
  // A new connection to s3rver per request: a kept-alive one can be closed by s3rver (after
  // its 5 s idle timeout) just as it is reused, and the request would fail for nothing.
  const agent = new http.Agent({ keepAlive: false })

  /** The object's size from a HEAD without conditions, or undefined if s3rver has none to give. */
  function objectSize(path) {
    return new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: s3rverPort, method: 'HEAD', path, agent }, (res) => {
        res.resume()
        const length = Number(res.headers['content-length'])
        resolve(res.statusCode === 200 && Number.isSafeInteger(length) ? length : undefined)
      })
      req.on('error', () => resolve(undefined))
      req.end()
    })
  }

  async function handle(req, res) {
    const headers = endToEnd(req.headers)
    const n = suffixLength(req.headers.range)
    if (n !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      const size = await objectSize((req.url ?? '/').split('?')[0])
      // No size (no such object): s3rver answers the request as it is, with its 404.
      if (size !== undefined) headers.range = absoluteSuffixRange(n, size)
    }
    const upstream = http.request({ host: '127.0.0.1', port: s3rverPort, method: req.method, path: req.url, headers, agent })
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy()
    })
    upstream.on('error', () => {
      if (res.headersSent) res.destroy()
      else res.writeHead(502).end()
    })
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers))
      answer.pipe(res)
    })
    req.pipe(upstream)
  }

  const front = http.createServer((req, res) => void handle(req, res))
  // Clients (the proxy, the tests' harness) keep connections alive: never close an idle one
  // under them, which races with its reuse on a busy machine. close() ends them all.
  front.keepAliveTimeout = 0
  try {
    await new Promise((resolve, reject) => {
      front.once('error', reject)
      front.listen(port, host, () => resolve())
    })
  } catch (error) {
    await s3rver.close()
    removeDirectory()
    throw error
  }
  const address = front.address()

  return {
    endpoint: `http://${host}:${address.port}`,
    port: address.port,
    async close() {
      front.closeAllConnections()
      await new Promise((resolve) => front.close(() => resolve()))
      agent.destroy()
      await s3rver.close()
      removeDirectory()
    },
  }
}
