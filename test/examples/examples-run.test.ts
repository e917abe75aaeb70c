/**
 * The Node, Bun, Deno and Workers examples run as examples/README.md says: against the
 * demo's local S3 (`npm start -- --s3-only`), with exactly the variables it prints, by
 * `npm start` in the example's folder. Each is copied to an empty folder with `yatagarasu`
 * installed (a link to this package, as `npm install` of `file:../..` makes) and its tools
 * (bun, deno, esbuild, workerd) from this repository's node_modules/.bin, then asked for a
 * sample object twice. (The Next.js example is built and run by conformance-nextjs.)
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChildServer } from '../support/child-server.js'
import { startDemoS3, type DemoS3 } from '../support/demo-s3.js'
import { freePort } from '../support/free-port.js'
import { until } from '../support/wait.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const workspace = mkdtempSync(join(tmpdir(), 'yatagarasu-examples-'))
let s3: DemoS3

beforeAll(async () => {
  s3 = await startDemoS3()
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

/** How each example is told where to listen: PORT=0 (it prints the URL), or a socket address. */
async function listenOn(example: string): Promise<{ args: string[]; env: Record<string, string>; url?: string }> {
  if (example !== 'workers') return { args: [], env: { PORT: '0' } }
  const port = await freePort()
  return { args: ['--', '--socket-addr', `http=127.0.0.1:${port}`], env: {}, url: `http://127.0.0.1:${port}` }
}

describe.each(['node', 'bun', 'deno', 'workers'])('examples/%s', (example) => {
  it('npm start serves the demo S3 object, cached on the second request', async () => {
    const cwd = install(example)
    const listen = await listenOn(example)
    const server = await startChildServer({
      command: 'npm',
      args: ['start', '--silent', ...listen.args],
      cwd,
      env: {
        ...s3.env,
        ...listen.env,
        PATH: `${join(root, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}`,
        DENO_DIR: join(workspace, 'deno-dir'),
        NO_COLOR: '1',
      },
      ...(listen.url !== undefined && { url: listen.url }),
      processGroup: true, // npm runs the server through a shell
      timeoutMs: 90_000,
    })
    const url = `${server.url.replace(/\/$/, '')}/assets/hello.txt`
    try {
      const first = await fetch(url)
      expect(first.status).toBe(200)
      expect(await first.text()).toBe('Hello from Yatagarasu!\n')
      expect(first.headers.get('x-cache')).toBe('MISS')
      // The copy is stored in the background (waitUntil) once the body has been read, in
      // another process: ask until it answers from the cache.
      let cache: string | null = null
      let body = ''
      await until(async () => {
        const second = await fetch(url)
        ;[cache, body] = [second.headers.get('x-cache'), await second.text()]
        return cache === 'HIT'
      }, 'a cache hit', 30_000).catch(() => {}) // the expects below show what answered instead
      expect(cache).toBe('HIT')
      expect(body).toBe('Hello from Yatagarasu!\n')
    } finally {
      await server.close()
    }
  }, 120_000)
})
