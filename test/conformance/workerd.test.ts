/**
 * The conformance scenarios on Cloudflare's `workerd` (from the `workerd` npm package):
 * the module worker in ./conformance/servers/workerd-worker.ts, bundled as Wrangler
 * bundles one (esbuild, ESM, browser platform, `workerd`/`worker`/`browser` conditions),
 * served by a real workerd with the config as a text binding.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterAll } from 'vitest'
import { describeConformance } from './suite.js'
import { startChildServer } from '../support/child-server.js'
import { freePort } from '../support/free-port.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const workerd = join(root, 'node_modules', '.bin', 'workerd')
const workspace = mkdtempSync(join(tmpdir(), 'yatagarasu-workerd-'))
afterAll(() => rmSync(workspace, { recursive: true, force: true }))

/** workerd's config: the worker, a network that may reach S3 on loopback, and one HTTP socket. */
function capnpConfig(port: number, yatagarasuConfig: string): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
  bindings = [(name = "YATAGARASU_CONFIG", text = ${JSON.stringify(yatagarasuConfig)})],
);
`
}

describeConformance(
  'Cloudflare workerd',
  async (config) => {
    await build({
      entryPoints: [join(root, 'test/conformance/servers/workerd-worker.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      conditions: ['workerd', 'worker', 'browser'],
      outfile: join(workspace, 'worker.js'),
      logLevel: 'error',
    })
    const port = await freePort()
    writeFileSync(join(workspace, 'config.capnp'), capnpConfig(port, JSON.stringify(config)))
    const server = await startChildServer({
      command: workerd,
      args: ['serve', join(workspace, 'config.capnp')],
      url: `http://127.0.0.1:${port}`,
    })
    return { baseUrl: server.url, close: server.close }
  },
  { compressionLeftToPlatform: true },
)
