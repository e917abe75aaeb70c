#!/usr/bin/env node
/**
 * A local S3 for compose.yaml: the demo's local S3 (demo/local-s3.mjs: s3rver, an
 * S3-compatible store on disk from npm, behind a front that answers suffix ranges such as
 * `bytes=-5` as S3 does) with the buckets deploy/config.yaml routes to and a sample object
 * in each. For trying the stack out, not for production: s3rver does not check signatures.
 *
 * Environment: S3_HOST (default 0.0.0.0), S3_PORT (default 4568; 0 = any free port),
 * S3_DIRECTORY (default /data). Credentials are s3rver's: access key and secret `S3RVER`.
 * Prints `listening on http://HOST:PORT` once the samples are in; SIGTERM/SIGINT stop it.
 */
import http from 'node:http'
import { startLocalS3 } from '../demo/local-s3.mjs'

const BUCKETS = ['assets', 'private']
const SAMPLES = [
  { bucket: 'assets', key: 'hello.txt', type: 'text/plain; charset=utf-8', body: 'Hello from Yatagarasu!\n' },
  { bucket: 'private', key: 'report.txt', type: 'text/plain; charset=utf-8', body: 'For token holders only.\n' },
]

const host = process.env.S3_HOST || '0.0.0.0'
const s3 = await startLocalS3({
  buckets: BUCKETS,
  host,
  port: Number(process.env.S3_PORT || 4568),
  directory: process.env.S3_DIRECTORY || '/data',
})
const endpoint = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${s3.port}`

// s3rver accepts unsigned writes; the samples are written on every start (same content).
for (const sample of SAMPLES) await put(sample)

process.stdout.write(`listening on http://${host}:${s3.port}\n`)
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => s3.close().then(() => process.exit(0)))

function put({ bucket, key, type, body }) {
  return new Promise((resolve, reject) => {
    const request = http.request(`${endpoint}/${bucket}/${key}`, {
      method: 'PUT',
      headers: { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    })
    request.on('response', (response) => {
      response.resume()
      if (response.statusCode === 200) resolve()
      else reject(new Error(`writing ${bucket}/${key}: HTTP ${response.statusCode}`))
    })
    request.on('error', reject)
    request.end(body)
  })
}
