/**
 * The Node, Bun and Deno examples run as their READMEs say, against a real S3: each is
 * copied to an empty folder with `yatagarasu` installed (a link to this package, as
 * `npm install` of `file:../..` makes), started with the real runtime, and asked for
 * an object. (The Next.js example has its own test: conformance-nextjs.)
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChildServer } from './support/child-server.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from './support/test-s3.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = (name: string) => join(root, 'node_modules', '.bin', name)
const workspace = mkdtempSync(join(tmpdir(), 'yatagarasu-examples-'))
let s3: TestS3

beforeAll(async () => {
  s3 = await startTestS3({ buckets: [{ name: 'example-bucket', region: 'eu-west-1' }] })
  await s3.put('example-bucket', 'hello.txt', 'hello from S3', { 'Content-Type': 'text/plain' })
}, 60_000)

afterAll(async () => {
  await s3?.close()
  rmSync(workspace, { recursive: true, force: true })
})

/** The example in a folder of its own, with `node_modules/yatagarasu` pointing at this package. */
function install(example: string): string {
  const dir = join(workspace, example)
  cpSync(join(root, 'examples', example), dir, { recursive: true })
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(root, join(dir, 'node_modules', 'yatagarasu'), 'dir')
  return dir
}

describe.each([
  { example: 'node', command: process.execPath, args: ['server.mjs'] },
  { example: 'bun', command: bin('bun'), args: ['server.ts'] },
  { example: 'deno', command: bin('deno'), args: ['run', '--allow-net', '--allow-env', 'main.ts'] },
])('examples/$example', ({ example, command, args }) => {
  it('serves an object from S3, cached on the second request', async () => {
    const cwd = install(example)
    const server = await startChildServer({
      command,
      args,
      cwd,
      env: {
        PORT: '0',
        S3_BUCKET: 'example-bucket',
        S3_REGION: 'eu-west-1',
        S3_ENDPOINT: s3.endpoint,
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        DENO_DIR: join(workspace, 'deno-dir'),
        NO_COLOR: '1',
      },
    })
    try {
      const first = await fetch(`${server.url.replace(/\/$/, '')}/assets/hello.txt`)
      expect(first.status).toBe(200)
      expect(await first.text()).toBe('hello from S3')
      expect(first.headers.get('x-cache')).toBe('MISS')
      let second = await fetch(`${server.url.replace(/\/$/, '')}/assets/hello.txt`)
      for (let attempt = 0; second.headers.get('x-cache') !== 'HIT' && attempt < 20; attempt++) {
        await second.text()
        await new Promise((resolve) => setTimeout(resolve, 100))
        second = await fetch(`${server.url.replace(/\/$/, '')}/assets/hello.txt`)
      }
      expect(second.headers.get('x-cache')).toBe('HIT')
      expect(await second.text()).toBe('hello from S3')
    } finally {
      await server.close()
    }
  }, 90_000)
})
