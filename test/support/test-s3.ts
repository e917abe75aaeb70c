/**
 * A real S3-compatible server for integration tests: s3rver (which stores objects but
 * checks no signatures), as the demo runs it (demo/local-s3.mjs: suffix ranges answered
 * as S3 does), behind a "front" that
 *   - records every request that reached "S3", exactly as it arrived;
 *   - verifies its SigV4 signature (in `Authorization`, or in the query string of a
 *     presigned URL, expiry included) independently of the proxy's signer
 *     (./sigv4-verify.ts) and refuses it like S3 would (403 + XML error) when anything is off;
 *   - streams s3rver's answer back with backpressure, counting the body bytes actually
 *     written, noticing when the client (the proxy) hangs up, and optionally dripping
 *     chosen objects slowly.
 *
 * s3rver facts checked for 3.7.1 (see the harness test):
 *   - Keys are taken from the path and percent-decoded exactly once (koa-router's
 *     decodeURIComponent). `+` stays `+` (no form decoding, same as S3); `%2B`, `%20`,
 *     `%25`, UTF-8 and RFC 3986-encoded `()[]!*'` all round-trip. So does an unencoded
 *     `+` or `(`, as on S3.
 *   - It cannot hold every key S3 can: a key with an empty segment (`a//b`) gets 404 on
 *     both PUT and GET (its route does not match), and it stores objects as files under
 *     `path.join(bucket, ...key.split('/'))`, so `a/../b` would be the object `b` and
 *     `../../x` would escape its directory. S3 treats all of these as literal keys.
 *     Handled in the front, after verification (which always sees the real key): every
 *     key segment that is empty, `.` or `..` is stored under an escaped name (see
 *     `storageKey`), by `put()` and by forwarded requests alike. The mapping is
 *     injective, so distinct S3 keys stay distinct objects; only s3rver's own listings
 *     and error bodies show the escaped form.
 *   - Key segments longer than 255 bytes fail there (file-name limit); S3 allows them.
 *   - s3rver's own V4 "check" only looks up the access key id (it knows `S3RVER`) and
 *     then trusts the request. The front renames the credential to `S3RVER` when
 *     forwarding (see `upstreamHeaders`), so any `credentials` option works while
 *     s3rver still sees a signed request (it refuses response-* overrides otherwise).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startLocalS3 } from '../../demo/local-s3.mjs'
import { canonicalS3Path, decodePath, encodeRfc3986, isPresigned, PRESIGN_PARAMETERS, verifyPresignedS3Request, verifyS3Request } from './sigv4-verify.js'
import { sleep } from './wait.js'

export interface TestS3Options {
  /** Created in s3rver; the region is what signatures for the bucket must be scoped to. */
  buckets: Array<{ name: string; region: string }>
  /** What the proxy must sign with. Default: TEST_CREDENTIALS. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
}

export const TEST_CREDENTIALS: { accessKeyId: 'S3RVER'; secretAccessKey: string } = {
  accessKeyId: 'S3RVER',
  secretAccessKey: 'test-secret-access-key-for-s3rver',
}

export interface RecordedRequest {
  method: string
  /** Exactly as on the wire, before any decoding (e.g. '/bucket/a%20b'). */
  rawPath: string
  /** '' when none. */
  rawQuery: string
  /** First path segment, decoded. */
  bucket: string | undefined
  /** The rest of the path, percent-decoded once; undefined when there is none. */
  key: string | undefined
  /** Lower-case names. */
  headers: Record<string, string>
  signature: 'valid' | 'invalid' | 'missing'
  /** Signed in the query string (a presigned URL) rather than in `Authorization`. */
  presigned?: boolean
  /** Why verification failed, if it did. */
  failure?: string
  /** Status sent back. */
  status?: number
  /** Body bytes written to the proxy's socket so far (updated live). */
  bytesSent: number
  /** Resolves when the response ends, or the connection closes early (completed=false). */
  done: Promise<{ completed: boolean; bytesSent: number }>
  /** Resolves once the harness has stopped writing (body sent whole, or the proxy gone): nothing is written after. */
  stopped: Promise<void>
}

/** Resolves a request's `stopped`: a streamed body's copy loop when it ends, any other request when its response closes. */
const stopOf = new WeakMap<RecordedRequest, () => void>()
const streamed = new WeakSet<RecordedRequest>()

export interface TestS3 {
  /** 'http://127.0.0.1:PORT' — the verifying front, never s3rver directly. */
  endpoint: string
  /** Every request that reached the front, in order. */
  requests: RecordedRequest[]
  /** Stores an object straight into s3rver (not verified, not recorded), keeping its headers. */
  put(bucket: string, key: string, body: string | Uint8Array, headers?: Record<string, string>): Promise<void>
  /** Serve this object's body slowly: chunkSize bytes every intervalMs. */
  throttle(bucket: string, key: string, opts: { chunkSize: number; intervalMs: number }): void
  /**
   * From now on, accept only signatures made with one of these sets — two during a
   * rotation (as AWS honours the old session until it expires), then the new one alone.
   */
  setCredentials(...sets: Array<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>): void
  /**
   * Verified requests for this object wait (recorded, unanswered) until `release` is
   * called: the test decides when S3 answers, no clock involved.
   */
  hold(bucket: string, key: string): { release(): void }
  /** Verified requests for this object are answered `status` with an S3 XML error (`undefined` stops it). */
  failWith(bucket: string, key: string, status: number | undefined): void
  /** Clears `requests` (not objects). */
  reset(): void
  close(): Promise<void>
}

interface Pace {
  chunkSize: number
  intervalMs: number
}

/** Connection-level headers that a proxy must not pass on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

export async function startTestS3(options: TestS3Options): Promise<TestS3> {
  let accepted = [options.credentials ?? TEST_CREDENTIALS]
  /** The first set's failure when none verifies; undefined when one does. */
  async function verifyWithAny(verify: (credentials: (typeof accepted)[number]) => Promise<string | undefined>): Promise<string | undefined> {
    let first: string | undefined
    for (const credentials of accepted) {
      const failure = await verify(credentials)
      if (failure === undefined) return undefined
      first ??= failure
    }
    return first
  }
  const regions = new Map(options.buckets.map((b) => [b.name, b.region]))
  const store = await startS3rver(options.buckets.map((b) => b.name))
  const throttled = new Map<string, Pace>()
  const held = new Map<string, Promise<void>>()
  const failing = new Map<string, number>()
  const requests: RecordedRequest[] = []

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { record, settle } = recordRequest(req)
    requests.push(record)
    res.once('close', () => {
      settle({ completed: res.writableFinished, bytesSent: record.bytesSent })
      if (!streamed.has(record)) stopOf.get(record)!()
    })

    if (record.headers.authorization === undefined && isPresigned(record.rawQuery)) {
      const failure = await verifyWithAny((credentials) => verifyPresignedS3Request(record, { credentials, regionOf: (bucket) => regions.get(bucket) }))
      if (failure !== undefined) {
        record.failure = failure
        req.resume()
        return sendError(res, record, 403, failure === 'Request has expired' ? 'AccessDenied' : 'SignatureDoesNotMatch', failure)
      }
      record.signature = 'valid'
      record.presigned = true
      const pace = record.bucket !== undefined && record.key !== undefined ? throttled.get(objectId(record.bucket, record.key)) : undefined
      return forward(req, res, record, pace)
    }
    if (record.headers.authorization === undefined) {
      req.resume()
      return sendError(res, record, 403, 'AccessDenied', 'Access Denied (the request is not signed)')
    }
    const failure = await verifyWithAny((credentials) => verifyS3Request(record, { credentials, regionOf: (bucket) => regions.get(bucket) }))
    if (failure !== undefined) {
      record.failure = failure
      req.resume()
      return sendError(res, record, 403, 'SignatureDoesNotMatch', failure)
    }
    record.signature = 'valid'
    const id = record.bucket !== undefined && record.key !== undefined ? objectId(record.bucket, record.key) : undefined
    const hold = id !== undefined ? held.get(id) : undefined
    if (hold !== undefined) await hold
    const status = id !== undefined ? failing.get(id) : undefined
    if (status !== undefined) {
      req.resume()
      return sendError(res, record, status, status === 503 ? 'SlowDown' : 'InternalError', 'failure injected by the test')
    }
    forward(req, res, record, id !== undefined ? throttled.get(id) : undefined)
  }

  /** Sends a verified request on to s3rver and streams its answer back. */
  function forward(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, pace: Pace | undefined) {
    // A presigned request's signature was checked here; s3rver gets it as an anonymous GET.
    const query = record.presigned ? withoutPresignParameters(record.rawQuery) : record.rawQuery
    const path = s3rverPath(record.bucket ?? '', record.key) + (query ? `?${query}` : '')
    const upstream = http.request({
      host: '127.0.0.1',
      port: store.port,
      method: record.method,
      path,
      headers: upstreamHeaders(record.headers),
      agent: store.agent,
    })
    // The proxy hung up: stop reading from s3rver too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy()
    })
    upstream.on('error', () => {
      if (res.headersSent) res.destroy()
      else sendError(res, record, 502, 'InternalError', 'test S3 backend (s3rver) failed')
    })
    upstream.on('response', (s3res) => {
      record.status = s3res.statusCode ?? 502
      res.writeHead(record.status, forwardedHeaders(s3res.headers))
      streamed.add(record)
      void streamBody(s3res, res, record, pace).finally(stopOf.get(record))
    })
    req.pipe(upstream)
  }

  const front = http.createServer((req, res) => void handle(req, res))
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))

  return {
    endpoint: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    requests,
    put: (bucket, key, body, headers = {}) => store.put(bucket, key, body, headers),
    throttle(bucket, key, opts) {
      if (!(opts.chunkSize > 0) || !(opts.intervalMs >= 0)) throw new Error('throttle: chunkSize must be > 0, intervalMs >= 0')
      throttled.set(objectId(bucket, key), { ...opts })
    },
    setCredentials(...sets) {
      if (sets.length === 0) throw new Error('setCredentials: at least one set')
      accepted = sets.map((set) => ({ ...set }))
    },
    hold(bucket, key) {
      let release!: () => void
      const id = objectId(bucket, key)
      const gate = new Promise<void>((resolve) => (release = resolve))
      held.set(id, gate)
      return {
        release() {
          if (held.get(id) === gate) held.delete(id)
          release()
        },
      }
    },
    failWith(bucket, key, status) {
      if (status === undefined) failing.delete(objectId(bucket, key))
      else failing.set(objectId(bucket, key), status)
    },
    reset() {
      requests.length = 0
    },
    async close() {
      front.closeAllConnections()
      await new Promise<void>((resolve) => front.close(() => resolve()))
      await store.close()
    },
  }
}

function withoutPresignParameters(rawQuery: string): string {
  const params = new URLSearchParams(rawQuery)
  for (const name of PRESIGN_PARAMETERS) params.delete(name)
  return params.toString()
}

function objectId(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`
}

/** Builds the record for a request as it arrived (nothing decoded but bucket and key). */
function recordRequest(req: IncomingMessage) {
  const target = req.url ?? '/'
  const queryAt = target.indexOf('?')
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt)
  const rawQuery = queryAt === -1 ? '' : target.slice(queryAt + 1)
  const { bucket, key } = splitBucketKey(rawPath)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  let settle!: (result: { completed: boolean; bytesSent: number }) => void
  let stop!: () => void
  const record: RecordedRequest = {
    method: req.method ?? 'GET',
    rawPath,
    rawQuery,
    bucket,
    key,
    headers,
    signature: headers.authorization === undefined ? 'missing' : 'invalid',
    bytesSent: 0,
    done: new Promise((resolve) => (settle = resolve)),
    stopped: new Promise((resolve) => (stop = resolve)),
  }
  stopOf.set(record, stop)
  return { record, settle }
}

/** Path-style addressing: '/bucket/some/key' → bucket 'bucket', key 'some/key' (decoded). */
function splitBucketKey(rawPath: string): { bucket: string | undefined; key: string | undefined } {
  const decoded = decodePath(rawPath)
  if (decoded === undefined) return { bucket: undefined, key: undefined }
  const slash = decoded.indexOf('/', 1)
  const bucket = slash === -1 ? decoded.slice(1) : decoded.slice(1, slash)
  const key = slash === -1 ? '' : decoded.slice(slash + 1)
  return { bucket: bucket || undefined, key: key || undefined }
}

/** Response headers, and request headers apart from Authorization: all but hop-by-hop ones. */
function forwardedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value
  }
  return kept
}

/**
 * The verified request's headers for s3rver. s3rver treats a request as authenticated
 * (which it, like S3, requires for e.g. `response-content-type` overrides) only when the
 * Authorization header names its one account, S3RVER; of a V4 header it checks nothing
 * else. The real check happened in the front, so the credential is renamed to that
 * account and any `credentials` can be used.
 */
function upstreamHeaders(headers: Record<string, string>): Record<string, string | string[]> {
  const kept = forwardedHeaders(headers)
  if (headers.authorization) kept.authorization = headers.authorization.replace(/Credential=[^/]*\//, 'Credential=S3RVER/')
  return kept
}

/**
 * Streams s3rver's body to the proxy. Backpressure both ways: the next chunk is read from
 * s3rver only after the previous one was accepted, so a throttled or stalled client never
 * makes the whole object sit in memory. Leaving the loop early destroys the s3rver stream.
 */
async function streamBody(source: IncomingMessage, res: ServerResponse, record: RecordedRequest, pace: Pace | undefined) {
  const chunks: AsyncIterable<Buffer> = pace ? rechunk(source, pace.chunkSize) : source
  let first = true
  try {
    for await (const chunk of chunks) {
      // The first chunk goes out at once ("first byte early"); then one every intervalMs.
      if (pace && !first) await sleep(pace.intervalMs)
      first = false
      if (res.destroyed) return
      await write(res, chunk, record)
    }
    res.end()
  } catch {
    res.destroy()
  }
}

/** Re-slices a stream into `size`-byte chunks, holding at most one chunk plus one read. */
async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0)
  for await (const chunk of source) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    while (pending.length >= size) {
      yield pending.subarray(0, size)
      pending = pending.subarray(size)
    }
  }
  if (pending.length > 0) yield pending
}

/**
 * Writes one chunk and waits for room. `bytesSent` grows in the write callback, i.e. once
 * the bytes were handed to the socket, not when they were merely queued.
 */
function write(res: ServerResponse, chunk: Buffer, record: RecordedRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const hasRoom = res.write(chunk, (error) => {
      if (!error) record.bytesSent += chunk.length
    })
    if (hasRoom) return resolve()
    const onDrain = () => {
      res.off('close', onClose)
      resolve()
    }
    const onClose = () => {
      res.off('drain', onDrain)
      reject(new Error('client closed the connection'))
    }
    res.once('drain', onDrain)
    res.once('close', onClose)
  })
}

function sendError(res: ServerResponse, record: RecordedRequest, status: number, code: string, message: string) {
  record.status = status
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message><RequestId>TESTS3REQUEST</RequestId></Error>`
  res.writeHead(status, {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-amz-request-id': 'TESTS3REQUEST',
  })
  res.end(body)
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** Marks a key segment s3rver cannot store as-is. A private-use character: never in real test keys. */
const ESCAPE = '\uE000'

/**
 * The key under which s3rver stores the object S3 would store under `key`. Empty, `.` and
 * `..` segments (which s3rver cannot route or would resolve as file paths) get the
 * ESCAPE prefix; so do segments already starting with it, which keeps the mapping
 * one-to-one. Every other key is unchanged.
 */
export function storageKey(key: string): string {
  return key
    .split('/')
    .map((segment) => (segment === '' || segment === '.' || segment === '..' || segment.startsWith(ESCAPE) ? ESCAPE + segment : segment))
    .join('/')
}

/** The s3rver path for a bucket and decoded key, each segment RFC 3986-encoded (s3rver decodes once). */
function s3rverPath(bucket: string, key: string | undefined): string {
  const bucketPath = `/${encodeRfc3986(bucket)}`
  return key === undefined ? bucketPath : `${bucketPath}/${canonicalS3Path(storageKey(key))}`
}

/**
 * The demo's local S3 (s3rver behind a front that answers suffix ranges as S3 does) on
 * 127.0.0.1, a random port and a temp directory that close() removes.
 */
async function startS3rver(buckets: string[]) {
  const local = await startLocalS3({ buckets })
  const port = local.port
  const agent = new http.Agent({ keepAlive: true })

  /** PUTs straight to s3rver: unsigned requests are accepted there. */
  function put(bucket: string, key: string, body: string | Uint8Array, headers: Record<string, string>): Promise<void> {
    const data = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: s3rverPath(bucket, key),
          headers: { ...headers, 'Content-Length': String(data.length), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
          agent,
        },
        (res) => {
          const parts: Buffer[] = []
          res.on('data', (chunk: Buffer) => parts.push(chunk))
          res.on('end', () => {
            if (res.statusCode === 200) resolve()
            else reject(new Error(`test S3 put ${bucket}/${key}: ${res.statusCode} ${Buffer.concat(parts).toString()}`))
          })
        },
      )
      req.on('error', reject)
      req.end(data)
    })
  }

  async function close() {
    agent.destroy()
    await local.close()
  }

  return { port, agent, put, close }
}
