#!/usr/bin/env node
/**
 * `npm start`: a local S3-compatible store (s3rver) with sample objects, served
 * through Yatagarasu on 127.0.0.1. Prints curl lines to try. Ctrl-C stops it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { createYatagarasu } from '../dist/index.js'
import { serve } from '../dist/node.js'

const ACCESS_KEY = 'S3RVER'
const SECRET_KEY = 'S3RVER'
const port = Number(process.env.PORT ?? 8080)

const directory = mkdtempSync(join(tmpdir(), 'yatagarasu-demo-'))
const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: 'public' }, { name: 'media' }] })
const { port: s3Port } = await s3.run()
const endpoint = `http://127.0.0.1:${s3Port}`

function put(bucket, key, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${endpoint}/${bucket}/${encodeURIComponent(key)}`, {
      method: 'PUT',
      headers: { ...headers, 'Content-Length': body.length, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    }, (res) => { res.resume(); res.on('end', resolve) })
    req.on('error', reject)
    req.end(body)
  })
}

// A 1x1 PNG, a text file, and a 16 MB "video".
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
const video = Buffer.alloc(16 * 1024 * 1024, 7)
await put('public', 'logo.png', png, { 'Content-Type': 'image/png', 'Cache-Control': 'public, max-age=3600' })
await put('public', 'hello.txt', Buffer.from('Hello from Yatagarasu!\n'), { 'Content-Type': 'text/plain; charset=utf-8' })
await put('media', 'video.mp4', video, { 'Content-Type': 'video/mp4' })

const handler = createYatagarasu({
  buckets: [
    { name: 'public', pathPrefix: '/public', s3: { bucket: 'public', region: 'us-east-1', endpoint, accessKey: ACCESS_KEY, secretKey: SECRET_KEY } },
    { name: 'media', pathPrefix: '/media', s3: { bucket: 'media', region: 'us-east-1', endpoint, accessKey: ACCESS_KEY, secretKey: SECRET_KEY } },
  ],
})
const server = await serve(handler, { port, hostname: '127.0.0.1' })

console.log(`Yatagarasu demo on ${server.url} (S3: s3rver on ${endpoint})

  curl -i ${server.url}/public/hello.txt
  curl -I ${server.url}/public/logo.png
  curl -i -H 'Range: bytes=0-99' ${server.url}/media/video.mp4 -o /dev/null
  curl -s ${server.url}/media/video.mp4 | wc -c
  curl -i ${server.url}/public/missing.txt
  curl -i -X PUT ${server.url}/public/hello.txt
`)

async function stop() {
  await server.close()
  await s3.close()
  rmSync(directory, { recursive: true, force: true })
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
