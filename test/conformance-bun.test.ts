/**
 * The conformance scenarios on the real `bun` (from the `bun` npm package), through
 * `yatagarasu/bun` and through a plain `Bun.serve({ fetch: handler })`. Runs the built
 * package (`npm run build` first, as `npm test` does).
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { describeGracefulClose } from './conformance/graceful-close.js'
import { describeConformance, type StartTarget } from './conformance/suite.js'
import { startChildServer } from './support/child-server.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bun = fileURLToPath(new URL('../node_modules/.bin/bun', import.meta.url))

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

const bunLimits = { streamedBodyWithoutContentLength: true }
describeConformance('Bun, yatagarasu/bun serve()', startBun('adapter'), bunLimits)
describeConformance('Bun, plain Bun.serve({ fetch: handler })', startBun('plain'), bunLimits)

describe('Bun: the adapter passes the client IP, the plain handler has none', () => {
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
    const target = await startBun(mode)(config)
    try {
      const response = await fetch(`${target.baseUrl}/local/k.txt`)
      expect(response.status).toBe(status)
    } finally {
      await target.close()
    }
  }, 60_000)
})

describeGracefulClose('Bun adapter', async (config) => {
  const target = await startBun('adapter')(config)
  return { url: target.baseUrl, output: () => '', close: target.close }
})
