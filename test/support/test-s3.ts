/**
 * A real S3-compatible server for integration tests: s3rver (which holds objects but
 * checks no signatures) behind a front that verifies every request's SigV4 signature
 * independently (test/support/sigv4-verify.ts), records what reached "S3", and can
 * serve chosen objects slowly.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { canonicalS3Path, computeS3Signature, parseAmzDate, parseAuthorization } from './sigv4-verify.js'

export const TEST_CREDENTIALS = {
  accessKeyId: 'S3RVER',
  secretAccessKey: 'test-secret-access-key-for-s3rver',
} as const

export interface TestS3Options {
  buckets: Array<{ name: string; region: string }>
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
}

export interface RecordedRequest {
  method: string
  rawPath: string
  rawQuery: string
  bucket: string | undefined
  key: string | undefined
  headers: Record<string, string>
  signature: 'valid' | 'invalid' | 'missing'
  failure?: string
  status?: number
  bytesSent: number
  done: Promise<{ completed: boolean; bytesSent: number }>
}

export interface TestS3 {
  endpoint: string
  requests: RecordedRequest[]
  put(bucket: string, key: string, body: string | Uint8Array, headers?: Record<string, string>): Promise<void>
  throttle(bucket: string, key: string, opts: { chunkSize: number; intervalMs: number }): void
  reset(): void
  close(): Promise<void>
}

const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

export async function startTestS3(options: TestS3Options): Promise<TestS3> {
  const credentials: NonNullable<TestS3Options['credentials']> = options.credentials ?? TEST_CREDENTIALS
  const regions = new Map(options.buckets.map((b) => [b.name, b.region]))
  const directory = mkdtempSync(join(tmpdir(), 'yatagarasu-s3rver-'))
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: options.buckets.map((b) => ({ name: b.name })),
  })
  const { port: s3rverPort } = (await s3rver.run()) as AddressInfo
  const upstreamAgent = new http.Agent({ keepAlive: true })
  const throttled = new Map<string, { chunkSize: number; intervalMs: number }>()
  const requests: RecordedRequest[] = []

  async function verify(req: IncomingMessage, record: RecordedRequest, decodedPath: string): Promise<string | undefined> {
    const auth = parseAuthorization(record.headers.authorization ?? '')
    if (!auth) return 'malformed or missing Authorization'
    if (auth.accessKeyId !== credentials.accessKeyId) return 'unknown access key'
    if (auth.service !== 's3') return 'service is not s3'
    const expectedRegion = record.bucket === undefined ? undefined : regions.get(record.bucket)
    if (auth.region !== expectedRegion) return `region ${auth.region} is not the bucket's`
    const amzDate = record.headers['x-amz-date'] ?? ''
    const when = parseAmzDate(amzDate).getTime()
    if (!Number.isFinite(when) || Math.abs(Date.now() - when) > MAX_CLOCK_SKEW_MS) return 'x-amz-date missing or skewed'
    if (amzDate.slice(0, 8) !== auth.date) return 'credential date differs from x-amz-date'
    if (!record.headers['x-amz-content-sha256']) return 'x-amz-content-sha256 missing'
    if (!auth.signedHeaders.includes('host')) return 'host not signed'
    if (credentials.sessionToken !== undefined) {
      if (record.headers['x-amz-security-token'] !== credentials.sessionToken) return 'wrong session token'
      if (!auth.signedHeaders.includes('x-amz-security-token')) return 'session token not signed'
    }
    const signedHeaders: Record<string, string> = {}
    for (const name of auth.signedHeaders) {
      const value = record.headers[name]
      if (value === undefined) return `signed header ${name} missing`
      signedHeaders[name] = value
    }
    const query: Record<string, string | string[]> = {}
    for (const [name, value] of new URLSearchParams(record.rawQuery)) {
      const existing = query[name]
      query[name] = existing === undefined ? value : ([] as string[]).concat(existing, value)
    }
    const expected = await computeS3Signature({
      method: req.method ?? 'GET',
      canonicalPath: canonicalS3Path(decodedPath),
      query,
      headers: signedHeaders,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken !== undefined && { sessionToken: credentials.sessionToken }),
      region: auth.region,
      amzDate,
    })
    return expected === auth.signature ? undefined : 'signature does not match'
  }

  const front = http.createServer((req, res) => {
    const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split(/\?(.*)/s)
    const decodedPath = safeDecodePath(rawPath)
    const [bucket, ...keyParts] = (decodedPath ?? '').split('/').slice(1)
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
    }
    let settle!: (result: { completed: boolean; bytesSent: number }) => void
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      rawPath,
      rawQuery,
      bucket: bucket || undefined,
      key: keyParts.length > 0 ? keyParts.join('/') : undefined,
      headers,
      signature: headers.authorization ? 'invalid' : 'missing',
      bytesSent: 0,
      done: new Promise((resolve) => (settle = resolve)),
    }
    requests.push(record)
    res.once('close', () => settle({ completed: res.writableFinished, bytesSent: record.bytesSent }))
    req.resume()

    void (async () => {
      if (decodedPath === undefined) return sendError(res, record, 400, 'InvalidURI', 'bad encoding')
      if (!headers.authorization) return sendError(res, record, 403, 'AccessDenied', 'unsigned request')
      const failure = await verify(req, record, decodedPath)
      if (failure !== undefined) {
        record.failure = failure
        return sendError(res, record, 403, 'SignatureDoesNotMatch', failure)
      }
      record.signature = 'valid'
      forward(req, res, record, canonicalS3Path(decodedPath) + (rawQuery ? `?${rawQuery}` : ''))
    })()
  })

  function forward(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, path: string) {
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(record.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value
    const upstream = http.request({ host: '127.0.0.1', port: s3rverPort, method: req.method, path, headers, agent: upstreamAgent })
    upstream.on('error', () => res.destroy())
    upstream.on('response', (s3res) => {
      record.status = s3res.statusCode
      const responseHeaders: Record<string, string | string[]> = {}
      for (const [name, value] of Object.entries(s3res.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) responseHeaders[name] = value
      }
      res.writeHead(s3res.statusCode ?? 500, responseHeaders)
      res.once('close', () => {
        if (!res.writableFinished) s3res.destroy()
      })
      const pace = record.bucket && record.key !== undefined ? throttled.get(`${record.bucket}/${record.key}`) : undefined
      if (pace && req.method === 'GET') drip(s3res, res, record, pace)
      else {
        s3res.on('data', (chunk: Buffer) => {
          record.bytesSent += chunk.length
        })
        s3res.pipe(res)
      }
    })
    upstream.end()
  }

  /** Sends the body `chunkSize` bytes every `intervalMs`, stopping when the proxy hangs up. */
  function drip(s3res: IncomingMessage, res: ServerResponse, record: RecordedRequest, pace: { chunkSize: number; intervalMs: number }) {
    const parts: Buffer[] = []
    s3res.on('data', (chunk: Buffer) => parts.push(chunk))
    s3res.on('end', () => {
      const body = Buffer.concat(parts)
      let offset = 0
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer)
        const chunk = body.subarray(offset, offset + pace.chunkSize)
        offset += chunk.length
        record.bytesSent += chunk.length
        res.write(chunk)
        if (offset >= body.length) {
          clearInterval(timer)
          res.end()
        }
      }, pace.intervalMs)
      res.once('close', () => clearInterval(timer))
    })
  }

  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  const endpoint = `http://127.0.0.1:${(front.address() as AddressInfo).port}`

  return {
    endpoint,
    requests,
    async put(bucket, key, body, headers = {}) {
      const data = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
      await new Promise<void>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: s3rverPort,
            method: 'PUT',
            path: `/${bucket}/${canonicalS3Path(key)}`,
            headers: { ...headers, 'Content-Length': String(data.length), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
          },
          (res) => {
            res.resume()
            res.on('end', () =>
              res.statusCode === 200 ? resolve() : reject(new Error(`put ${bucket}/${key}: ${res.statusCode}`)),
            )
          },
        )
        req.on('error', reject)
        req.end(data)
      })
    },
    throttle(bucket, key, opts) {
      throttled.set(`${bucket}/${key}`, opts)
    },
    reset() {
      requests.length = 0
    },
    async close() {
      front.closeAllConnections()
      await new Promise<void>((resolve) => front.close(() => resolve()))
      upstreamAgent.destroy()
      await s3rver.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}

function safeDecodePath(rawPath: string): string | undefined {
  try {
    return rawPath.split('/').map(decodeURIComponent).join('/')
  } catch {
    return undefined
  }
}

function sendError(res: ServerResponse, record: RecordedRequest, status: number, code: string, message: string) {
  record.status = status
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>TESTS3REQUESTID</RequestId></Error>`
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), 'x-amz-request-id': 'TESTS3REQUESTID' })
  res.end(body)
}
