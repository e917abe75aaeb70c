/**
 * The conformance scenarios against Next.js: the example app (examples/nextjs) built
 * with `next build` and served by `next start`, once through its Node.js route and once
 * through its Edge route. The app resolves `next` from the repo and `yatagarasu` from
 * the built package (dist), as `npm install` of its `file:../..` dependency would.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChildServer, type ChildServer } from '../support/child-server.js'
import { startDemoS3, type DemoS3 } from '../support/demo-s3.js'
import { rawRequest } from '../support/raw-http.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import { describeConformance, type ConformanceTarget, type StartTarget } from './suite.js'
import { freePort } from '../support/free-port.js'

const ROOT = resolve(import.meta.dirname, '../..')
const NEXT_BIN = join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next')
const ENV = { NEXT_TELEMETRY_DISABLED: '1' }

let app: Promise<string> | undefined
let appDir: string | undefined
afterAll(() => {
  if (appDir) rmSync(appDir, { recursive: true, force: true })
})

/**
 * Copies the example into a folder inside the repo (so `next` and React resolve from the
 * repo's node_modules, and Turbopack's root is the repo), links `yatagarasu` to the repo
 * as `file:../..` would, and builds it once for both routes.
 */
function buildApp(): Promise<string> {
  app ??= (async () => {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true })
    // Two folders below the root, like examples/nextjs: its next.config.mjs points Turbopack there.
    const dir = mkdtempSync(join(ROOT, '.tmp', 'nextjs-'))
    appDir = dir
    cpSync(join(ROOT, 'examples', 'nextjs'), dir, {
      recursive: true,
      filter: (source) => !/[/\\](node_modules|\.next)$/.test(source),
    })
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(ROOT, join(dir, 'node_modules', 'yatagarasu'), 'dir')
    // Not in the example: routes that export the bare handler, on each runtime.
    for (const [folder, runtime] of PLAIN_ROUTES) {
      mkdirSync(join(dir, 'app', folder, '[...path]'), { recursive: true })
      writeFileSync(join(dir, 'app', folder, '[...path]', 'route.ts'), plainRoute(`/${folder}`, runtime))
    }
    // The plain routes create their handler when the module loads, which `next build` does too.
    await run(process.execPath, [NEXT_BIN, 'build'], dir, { YATAGARASU_CONFIG: JSON.stringify(PLACEHOLDER_CONFIG) })
    return dir
  })()
  return app
}

const PLAIN_ROUTES = [
  ['plain-node', 'nodejs'],
  ['plain-edge', 'edge'],
] as const
const PLACEHOLDER_CONFIG = { buckets: [{ name: 'x', pathPrefix: '/x', s3: { bucket: 'x', region: 'us-east-1', accessKey: 'x', secretKey: 'x' } }] }

function plainRoute(basePath: string, runtime: string): string {
  return `import { createYatagarasu } from 'yatagarasu'
export const runtime = '${runtime}'
export const GET = createYatagarasu({ ...JSON.parse(process.env.YATAGARASU_CONFIG ?? ''), basePath: '${basePath}' })
`
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}\n--- output ---\n${output}`)),
    )
  })
}

/** `next start` with the config in YATAGARASU_CONFIG; the route under `mount` sets its own basePath. */
function nextTarget(mount: string): StartTarget {
  return async (config) => {
    const dir = await buildApp()
    const port = await freePort()
    const server = await startChildServer({
      command: process.execPath,
      args: [NEXT_BIN, 'start', '-H', '127.0.0.1', '-p', String(port)],
      cwd: dir,
      env: { ...ENV, YATAGARASU_CONFIG: JSON.stringify(config) },
      // Next prints the address, then "Ready" once it accepts connections.
      readyPattern: /Local:\s+(http:\/\/\S+)[\s\S]*Ready in/,
    })
    return { baseUrl: `${server.url}${mount}`, close: () => server.close() }
  }
}

/**
 * Next.js passes a route handler's response on without `Content-Length`, `Content-Encoding`
 * and `Transfer-Encoding` (next/dist/server/send-response.js, and the Edge sandbox:
 * `FORBIDDEN_HEADERS`, "the body may have been transparently decoded"), chunked, and
 * compresses it itself when the client accepts gzip; HEAD responses lose Content-Length
 * too. Hence the example uses the global fetch, which decodes, on both runtimes: with
 * `nodeFetch` the gzip bytes would go out unlabelled (or gzipped twice). Each limit is
 * asserted as it is, so a Next.js release that changes it fails here. Next also resolves
 * dot segments before routing and answers a raw `\` with its own 308, so a route handler
 * never sees either.
 */
const LIMITS = { headWithoutContentLength: true, responsesWithoutContentLength: true, contentEncodingDecoded: true, normalisesTarget: true, redirectsBackslash: true }
describeConformance('Next.js, Node.js runtime route', nextTarget('/api/s3'), LIMITS)
describeConformance('Next.js, Edge runtime route', nextTarget('/edge/s3'), LIMITS)

describe('Next.js: a bare `export const GET = handler` with basePath', () => {
  let s3: TestS3
  let target: ConformanceTarget
  beforeAll(async () => {
    s3 = await startTestS3({ buckets: [{ name: 'plain', region: 'us-east-1' }] })
    await s3.put('plain', 'dir/a%2Fb.txt', 'encoded slash', { 'Content-Type': 'text/plain' })
    const s3Config = { bucket: 'plain', region: 'us-east-1', endpoint: s3.endpoint, accessKey: TEST_CREDENTIALS.accessKeyId, secretKey: TEST_CREDENTIALS.secretAccessKey }
    target = await nextTarget('')({ buckets: [{ name: 'files', pathPrefix: '/files', s3: s3Config }] })
  }, 240_000)
  afterAll(async () => {
    await target?.close()
    await s3?.close()
  })

  it.each(PLAIN_ROUTES.map(([folder]) => folder))('%s: routes past basePath, the key from the raw path', async (folder) => {
    const response = await rawRequest(`${target.baseUrl}/${folder}/files/dir/a%252Fb.txt?token=t`)
    expect(response.status).toBe(200)
    expect(response.body.toString()).toBe('encoded slash')
    expect(s3.requests.at(-1)).toMatchObject({ key: 'dir/a%2Fb.txt', rawQuery: '' })
    const missing = await rawRequest(`${target.baseUrl}/${folder}/files/nothing.txt`)
    expect(missing.status).toBe(404)
    expect(JSON.parse(missing.body.toString()).error.status).toBe(404)
  })
})

// examples/nextjs/README.md: `YATAGARASU_CONFIG="$(cat yatagarasu.yaml)" npm start` with the
// variables `npm start -- --s3-only` prints, and no edit to the YAML.
describe("Next.js example: its README's command against the demo's local S3", () => {
  let demo: DemoS3
  let server: ChildServer
  beforeAll(async () => {
    demo = await startDemoS3()
    const dir = await buildApp()
    const port = await freePort()
    server = await startChildServer({
      command: process.execPath,
      args: [NEXT_BIN, 'start', '-H', '127.0.0.1', '-p', String(port)],
      cwd: dir,
      env: { ...ENV, ...demo.env, YATAGARASU_CONFIG: readFileSync(join(ROOT, 'examples/nextjs/yatagarasu.yaml'), 'utf8') },
      readyPattern: /Local:\s+(http:\/\/\S+)[\s\S]*Ready in/,
    })
  }, 240_000)
  afterAll(async () => {
    await server?.close()
    await demo?.close()
  })

  it.each(['/api/s3', '/edge/s3'])('%s/assets/hello.txt is the sample object', async (mount) => {
    const response = await fetch(`${server.url}${mount}/assets/hello.txt`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('Hello from Yatagarasu!\n')
  })
})
