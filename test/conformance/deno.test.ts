/**
 * The conformance scenarios on the real `deno` (from the `deno` npm package), through
 * `yatagarasu/deno` and through a plain `Deno.serve(handler)`. Runs the built package
 * (built once by the test run's global setup). Deno resolves the bare `yatagarasu`
 * import through the package.json in its working directory.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'
import { describeServerAdapter } from './server-adapter.js'
import { describeImageConformance } from './images.js'
import { describeConformance, type StartTarget } from './suite.js'
import { startChildServer } from '../support/child-server.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const deno = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url))
const denoDir = mkdtempSync(join(tmpdir(), 'yatagarasu-deno-'))
afterAll(() => rmSync(denoDir, { recursive: true, force: true }))

const startDeno =
  (mode: 'adapter' | 'plain'): StartTarget =>
  async (config) => {
    const server = await startChildServer({
      command: deno,
      // --allow-ffi: sharp is a native addon (loaded only when the config enables images).
      args: ['run', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', '--allow-ffi', 'test/conformance/servers/deno-server.ts'],
      cwd: root,
      env: { YATAGARASU_CONFIG: JSON.stringify(config), MODE: mode, DENO_DIR: denoDir, NO_COLOR: '1' },
    })
    return { baseUrl: server.url, close: server.close }
  }

describeConformance('Deno, yatagarasu/deno serve()', startDeno('adapter'))
describeConformance('Deno, plain Deno.serve(handler)', startDeno('plain'))

describeServerAdapter('Deno', startDeno)

describeImageConformance('Deno, yatagarasu/deno with yatagarasu/images-sharp', startDeno('adapter'))
