#!/usr/bin/env node
/**
 * `npm start`: builds the library if needed, starts a local S3-compatible store
 * (s3rver, see ./local-s3.mjs) on 127.0.0.1 with sample objects, and runs the standalone
 * server with demo/config.yaml in front of it. Prints curl lines to try and a ready-made
 * token. Ctrl-C stops it (a graceful shutdown, like `yatagarasu serve`).
 *
 * PORT=9000 npm start    listens on another port (PORT=0: any free port).
 * DEMO_LOG_FORMAT=json   request logs as JSON lines instead of text.
 *
 * npm start -- --s3-only   only the local S3 with the sample objects, for the examples in
 *                          examples/: prints the variables they read. It listens on
 *                          127.0.0.1:9000 (PORT=... for another port; any free port when
 *                          9000 is taken and no PORT was asked for).
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildIfNeeded as buildDist } from '../scripts/build-if-needed.mjs'
import { startLocalS3 } from './local-s3.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const s3Only = process.argv.slice(2).includes('--s3-only')
const wantedPort = process.env.PORT !== undefined && process.env.PORT !== '' ? Number(process.env.PORT) : undefined
exitWithParent()
if (!s3Only) buildIfNeeded()

// --- A local S3 with sample objects ---------------------------------------------

const BUCKETS = ['public', 'media', 'private']
/** s3rver checks no signatures, only that the access key id is its one account's. */
const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

const s3 = s3Only ? await startS3OnPreferredPort() : await startLocalS3({ buckets: BUCKETS })
const endpoint = s3.endpoint
await putSamples()

if (s3Only) {
  printS3Only()
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void s3.close().then(() => process.exit(0)))
} else {
  await runServer()
}

/** 9000 unless PORT says otherwise; when 9000 is taken and no PORT was asked for, any free port. */
async function startS3OnPreferredPort() {
  try {
    return await startLocalS3({ buckets: BUCKETS, port: wantedPort ?? 9000 })
  } catch (error) {
    if (error?.code !== 'EADDRINUSE' || wantedPort !== undefined) throw error
    return startLocalS3({ buckets: BUCKETS, port: 0 })
  }
}

function put(bucket, key, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
      { method: 'PUT', headers: { ...headers, 'Content-Length': body.length, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
      (res) => {
        res.resume()
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`seeding ${bucket}/${key}: ${res.statusCode}`))))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** A 1x1 PNG, a text file, a 16 MB "video" (an MP4 ftyp box, then filler), a private report. */
async function putSamples() {
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
    'base64',
  )
  const video = Buffer.alloc(16 * 1024 * 1024, 7)
  Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex').copy(video)
  await put('public', 'logo.png', png, { 'Content-Type': 'image/png', 'Cache-Control': 'public, max-age=3600' })
  await put('public', 'hello.txt', Buffer.from('Hello from Yatagarasu!\n'), { 'Content-Type': 'text/plain; charset=utf-8' })
  await put('media', 'video.mp4', video, { 'Content-Type': 'video/mp4' })
  await put('private', 'report.txt', Buffer.from('Quarterly numbers: for token holders only.\n'), { 'Content-Type': 'text/plain; charset=utf-8' })
}

/**
 * The variables every example in examples/ reads, for this S3's public bucket. One line
 * to paste into another terminal (the examples' READMEs say so).
 */
function exampleExports() {
  return [
    `S3_ENDPOINT=${endpoint}`,
    'S3_BUCKET=public',
    'AWS_REGION=us-east-1',
    `AWS_ACCESS_KEY_ID=${S3_CREDENTIALS.accessKeyId}`,
    `AWS_SECRET_ACCESS_KEY=${S3_CREDENTIALS.secretAccessKey}`,
  ].join(' ')
}

function printS3Only() {
  console.log(`
Local S3 (s3rver) on ${endpoint}: buckets ${BUCKETS.join(', ')}; public/hello.txt, public/logo.png,
media/video.mp4 (16 MB), private/report.txt.

For the examples in examples/, in another terminal:

  export ${exampleExports()}

then start one as its README says (e.g. cd examples/node && npm install && npm start) and
  curl -i http://127.0.0.1:8080/assets/hello.txt

Ctrl-C stops.
`)
}

// --- The server ------------------------------------------------------------------

async function runServer() {
  const { SignJWT } = await import('jose')
  const { startServer, handleSignals } = await import('../dist/server.js')

  const jwtSecret = randomBytes(32).toString('base64url')
  const env = { ...process.env, DEMO_S3_ENDPOINT: endpoint, DEMO_JWT_SECRET: jwtSecret }
  const configPath = join(root, 'demo/config.yaml')

  let server
  try {
    server = await startServer({ configPath, env, host: '127.0.0.1', ...(wantedPort !== undefined && { port: wantedPort }) })
  } catch (error) {
    if (error?.code !== 'EADDRINUSE' || wantedPort !== undefined) {
      await cleanup()
      throw error
    }
    // 8080 is taken and no PORT was asked for: any free port will do for a demo.
    server = await startServer({ configPath, env, host: '127.0.0.1', port: 0 })
  }

  async function cleanup() {
    await s3.close().catch(() => {})
  }
  handleSignals(server, { afterStop: cleanup })

  const token = await new SignJWT({ role: 'viewer' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('demo-user')
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(jwtSecret))

  const url = server.url
  console.log(`
Yatagarasu demo on ${url}  (S3: s3rver at ${endpoint}; config: demo/config.yaml)

Public bucket, cached — run it twice: X-Cache MISS, then HIT
  curl -i ${url}/public/hello.txt
  curl -I ${url}/public/logo.png

Media bucket, cache off — 16 MB streamed; ranges pass through
  curl -s -o /dev/null -w '%{http_code} %{size_download} bytes\\n' ${url}/media/video.mp4
  curl -s -o /dev/null -w '%{http_code} %{size_download} bytes\\n' -H 'Range: bytes=0-99' ${url}/media/video.mp4

Private bucket, JWT — 401 without a token, 200 with it
  curl -i ${url}/private/report.txt
  curl -i -H 'Authorization: Bearer ${token}' ${url}/private/report.txt

Refused before S3: 405 for writes, 404 for listings
  curl -i -X PUT ${url}/public/hello.txt
  curl -i ${url}/public/

Operations
  curl ${url}/health
  curl ${url}/ready
  curl -s ${url}/metrics | grep yatagarasu_http_requests_total

The examples in examples/ run against this demo's S3: \`npm start -- --s3-only\` starts it
alone and prints the variables they read.

Token (sub demo-user, role viewer, valid 12 h):
  ${token}

Reload the config after editing demo/config.yaml:  kill -HUP ${process.pid}
Request logs follow. Ctrl-C stops.
`)
}

/**
 * `npm start` runs this file through `sh -c`. A SIGTERM to npm reaches that shell, which
 * dies without passing it on, and this process would go on serving as an orphan. So once
 * the parent that started it is gone (the process was re-parented), it stops as on
 * SIGTERM. (Ctrl-C in a terminal signals the whole process group, this process included.)
 */
function exitWithParent() {
  const parent = process.ppid
  const watch = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(watch)
    process.kill(process.pid, 'SIGTERM')
  }, 200)
  watch.unref()
}

/** Runs tsup when dist/ is missing or older than the sources. */
function buildIfNeeded() {
  // Tests run the demo next to others that use dist/: it must not be rebuilt under them.
  if (process.env.YATAGARASU_DEMO_SKIP_BUILD === '1') return
  try {
    buildDist(root)
  } catch (error) {
    console.error(error.message)
    process.exit(1)
  }
}
