/**
 * The `yatagarasu` bin with a YAML `images` block: sharp is loaded because a bucket
 * enables images, the signing key comes from the environment, and `check` shows the
 * block without the key.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signImageUrl } from '../../src/index.js'
import { assertBuilt, runCli, startCliServer, tempDir, type CliServer } from '../support/cli.js'
import { freePort } from '../support/free-port.js'
import { describeImage, makeTestImages } from '../support/images.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'

const SIGNING_KEY = 'server-image-signing-key-0123456789'
let s3: TestS3
let files: ReturnType<typeof tempDir>
let server: CliServer | undefined

const CONFIG = `
buckets:
  - name: img
    path_prefix: /img
    s3:
      bucket: pictures
      region: us-east-1
      endpoint: \${S3_ENDPOINT}
      access_key: \${S3_ACCESS_KEY}
      secret_key: \${S3_SECRET_KEY}
    cache:
      max_item_size: 4MB
    images:
      enabled: true
      max_source_size: "25MB"
      max_pixels: 50000000
      max_width: 4096
      max_height: 4096
      max_concurrent: 4
      signing_key: "\${IMAGE_SIGNING_KEY:-}"
`

function env(): Record<string, string> {
  return {
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: TEST_CREDENTIALS.accessKeyId,
    S3_SECRET_KEY: TEST_CREDENTIALS.secretAccessKey,
    IMAGE_SIGNING_KEY: SIGNING_KEY,
  }
}

beforeAll(async () => {
  assertBuilt()
  files = tempDir()
  s3 = await startTestS3({ buckets: [{ name: 'pictures', region: 'us-east-1' }] })
  const { jpeg } = await makeTestImages()
  await s3.put('pictures', 'photo.jpg', jpeg, { 'Content-Type': 'image/jpeg' })
}, 60_000)

afterAll(async () => {
  await server?.kill()
  await s3?.close()
  files?.cleanup()
})

describe('yatagarasu serve with images', () => {
  it('transforms signed URLs and refuses unsigned ones', async () => {
    server = await startCliServer(files.write('images.yaml', CONFIG), env())
    const s = await signImageUrl(SIGNING_KEY, '/img/photo.jpg', { w: 200, fmt: 'webp' })
    const response = await fetch(`${server.url}/img/photo.jpg?w=200&fmt=webp&s=${s}`)
    expect(response.status).toBe(200)
    expect(await describeImage(new Uint8Array(await response.arrayBuffer()))).toMatchObject({ format: 'webp', width: 200, height: 133 })
    const unsigned = await fetch(`${server.url}/img/photo.jpg?w=200&fmt=webp`)
    expect(unsigned.status).toBe(403)
    await unsigned.arrayBuffer()
    expect(server.output()).not.toContain(SIGNING_KEY)
  })

  it('refuses to start, saying why, and exits 1 when sharp cannot be loaded', async () => {
    // The same config that serves above, in a process where `sharp` does not resolve.
    const hideSharp = pathToFileURL(join(import.meta.dirname, '../fixtures/without-sharp.mjs')).href
    const result = await runCli(['serve', '--config', files.write('no-sharp.yaml', CONFIG), '--host', '127.0.0.1', '--port', '0'], {
      ...env(),
      NODE_OPTIONS: `--import=${hideSharp}`,
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('yatagarasu: cannot start: image transforms need the sharp package (npm install sharp)\n')
    expect(result.stdout).not.toContain('listening')
    expect(result.stdout + result.stderr).not.toContain(SIGNING_KEY)
    // Nothing was opened before the refusal that could keep the process alive: a Redis
    // cache layer (here one that is down, which a normal start waits for and then serves
    // around, reconnecting in the background) does not turn the refusal into a hang.
    const withRedis = `${CONFIG}cache:\n  cache_layers: [memory, redis]\n  redis:\n    redis_url: redis://127.0.0.1:${await freePort()}\n`
    const redisResult = await runCli(['serve', '--config', files.write('no-sharp-redis.yaml', withRedis), '--host', '127.0.0.1', '--port', '0'], {
      ...env(),
      NODE_OPTIONS: `--import=${hideSharp}`,
    })
    expect(redisResult.code).toBe(1)
    expect(redisResult.stderr).toContain('image transforms need the sharp package (npm install sharp)')

    // Only images need sharp: without the block, the same process starts and serves.
    const plain = await startCliServer(files.write('no-sharp-plain.yaml', CONFIG.slice(0, CONFIG.indexOf('    images:'))), {
      ...env(),
      NODE_OPTIONS: `--import=${hideSharp}`,
    })
    try {
      const original = await fetch(`${plain.url}/img/photo.jpg`)
      expect(original.status).toBe(200)
      await original.arrayBuffer()
    } finally {
      await plain.kill()
    }
  })

  it('check accepts the block and masks the key', async () => {
    const result = await runCli(['check', '--config', files.write('check.yaml', CONFIG)], env())
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout + result.stderr).not.toContain(SIGNING_KEY)
  })
})
