/**
 * The conformance scenarios on the real `bun` (from the `bun` npm package), through
 * `yatagarasu/bun` and through a plain `Bun.serve({ fetch: handler })`. Runs the built
 * package (built once by the test run's global setup).
 */
import { fileURLToPath } from 'node:url'
import { describeServerAdapter } from './server-adapter.js'
import { describeImageConformance } from './images.js'
import { describeConformance, type StartTarget } from './suite.js'
import { startChildServer } from '../support/child-server.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bun = fileURLToPath(new URL('../../node_modules/.bin/bun', import.meta.url))

const startBun =
  (mode: 'adapter' | 'plain'): StartTarget =>
  async (config) => {
    const server = await startChildServer({
      command: bun,
      args: ['test/conformance/servers/bun-server.ts'],
      cwd: root,
      env: { YATAGARASU_CONFIG: JSON.stringify(config), MODE: mode },
    })
    return { baseUrl: server.url, close: server.close }
  }

const bunLimits = { streamedBodyWithoutContentLength: true, normalisesTarget: true }
describeConformance('Bun, yatagarasu/bun serve()', startBun('adapter'), bunLimits)
describeConformance('Bun, plain Bun.serve({ fetch: handler })', startBun('plain'), bunLimits)

describeServerAdapter('Bun', startBun)

// sharp's native addon loads in Bun from node_modules as in Node.
describeImageConformance('Bun, yatagarasu/bun with yatagarasu/images-sharp', startBun('adapter'), bunLimits)
