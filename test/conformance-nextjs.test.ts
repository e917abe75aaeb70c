/**
 * The conformance scenarios against Next.js: the example app (examples/nextjs) built
 * with `next build` and served by `next start`, once through its Node.js route and once
 * through its Edge route. The app resolves `next` from the repo and `yatagarasu` from
 * the built package (dist), as `npm install` of its `file:../..` dependency would.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll } from 'vitest'
import { startChildServer } from './support/child-server.js'
import { describeConformance, type StartTarget } from './conformance/suite.js'

const ROOT = resolve(import.meta.dirname, '..')
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
    await run(process.execPath, [NEXT_BIN, 'build'], dir)
    return dir
  })()
  return app
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}\n--- output ---\n${output}`)),
    )
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
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
 * asserted as it is, so a Next.js release that changes it fails here.
 */
const LIMITS = { headWithoutContentLength: true, responsesWithoutContentLength: true, contentEncodingDecoded: true }
describeConformance('Next.js, Node.js runtime route', nextTarget('/api/s3'), LIMITS)
describeConformance('Next.js, Edge runtime route', nextTarget('/edge/s3'), LIMITS)
