/**
 * The conformance scenarios on the real `deno` (from the `deno` npm package), through
 * `yatagarasu/deno` and through a plain `Deno.serve(handler)`. Runs the built package
 * (`npm run build` first, as `npm test` does). Deno resolves the bare `yatagarasu`
 * import through the package.json in its working directory.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { describeGracefulClose } from './conformance/graceful-close.js'
import { describeConformance, type StartTarget } from './conformance/suite.js'
import { startChildServer } from './support/child-server.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url))
const denoDir = mkdtempSync(join(tmpdir(), 'yatagarasu-deno-'))
afterAll(() => rmSync(denoDir, { recursive: true, force: true }))

const startDeno =
  (mode: 'adapter' | 'plain'): StartTarget =>
  async (config) => {
    const server = await startChildServer({
      command: deno,
      args: ['run', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', 'test/conformance/servers/deno-server.ts'],
      cwd: root,
      env: { YATAGARASU_CONFIG: JSON.stringify(config), MODE: mode, DENO_DIR: denoDir, NO_COLOR: '1' },
    })
    return { baseUrl: server.url, close: server.close }
  }

describeConformance('Deno, yatagarasu/deno serve()', startDeno('adapter'))
describeConformance('Deno, plain Deno.serve(handler)', startDeno('plain'))

describe('Deno: the adapter passes the client IP, the plain handler has none', () => {
  // Only loopback may use the bucket; S3 is unreachable, so a request let through answers 502.
  const config = {
    buckets: [
      {
        name: 'local',
        pathPrefix: '/local',
        ipFilter: { allow: ['127.0.0.1', '::1'] },
        s3: { bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', accessKey: 'AK', secretKey: 'SK' },
      },
    ],
  }
  it.each([
    ['adapter', 502],
    ['plain', 403],
  ] as const)('%s: %d', async (mode, status) => {
    const target = await startDeno(mode)(config)
    try {
      const response = await fetch(`${target.baseUrl}/local/k.txt`)
      expect(response.status).toBe(status)
    } finally {
      await target.close()
    }
  }, 60_000)
})

describeGracefulClose('Deno adapter', async (config) => {
  const target = await startDeno('adapter')(config)
  return { url: target.baseUrl, output: () => '', close: target.close }
})
