/**
 * The conformance scenarios on Vercel's Edge runtime, as the `edge-runtime` npm package
 * runs it: the package bundled for the edge (test/support/edge-bundle.ts) and evaluated
 * as a service-worker script in the runtime's isolated context, served by its own HTTP
 * server. Runs the built package (built once by the test run's global setup).
 */
import { EdgeRuntime, runServer } from 'edge-runtime'
import { describeConformance } from './suite.js'
import { bundleForEdge } from '../support/edge-bundle.js'

const worker = bundleForEdge('test/conformance/servers/edge-runtime-worker.ts')

/**
 * edge-runtime's `dispatchFetch` (@edge-runtime/vm) deletes `Content-Length` and
 * `Content-Encoding` from every non-3xx response, its server then sends the body chunked,
 * and its fetch (undici) decodes gzip: a pre-compressed object arrives as its decoded
 * content. It has no CompressionStream, so the proxy compresses nothing there. Asserted
 * as it is, never skipped.
 */
const LIMITS = { headWithoutContentLength: true, responsesWithoutContentLength: true, contentEncodingDecoded: true, normalisesTarget: true, compressionLeftToPlatform: true }

describeConformance(
  'Vercel Edge runtime (edge-runtime)',
  async (config) => {
    const { code } = await worker
    const runtime = new EdgeRuntime({
      initialCode: code,
      extend: (context) => Object.assign(context, { YATAGARASU_CONFIG: JSON.stringify(config) }),
    })
    const server = await runServer({ runtime, host: '127.0.0.1', port: 0 })
    return { baseUrl: server.url.replace(/\/$/, ''), close: () => server.close() }
  },
  LIMITS,
)
