/**
 * The size of the library bundled for an edge platform (minified, then gzip), the figure
 * docs/runtimes.md reports, and proof that it carries no polyfill or Node shim: every byte
 * comes from the package or its declared dependencies. Runs on the built package.
 *
 *   npx vitest run test/package/edge-bundle-size.test.ts   prints the current figures
 */
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { bundleForEdge, type EdgeBundle } from '../support/edge-bundle.js'

/** What an edge deployment of the proxy imports: the handler and nothing else. */
const WORKER = `
import { createYatagarasu } from 'yatagarasu'
const handler = createYatagarasu(JSON.parse(globalThis.YATAGARASU_CONFIG))
addEventListener('fetch', (event: any) => event.respondWith(handler(event.request, { waitUntil: (p) => event.waitUntil(p) })))
`
/** The examples/nextjs Edge route: the route handlers, with the config read by parseConfig (YAML). */
const NEXT_EDGE_ROUTE = `
import { parseConfig } from 'yatagarasu'
import { createRouteHandlers } from 'yatagarasu/vercel'
;(globalThis as any).routes = createRouteHandlers(() => parseConfig(globalThis.YATAGARASU_CONFIG ?? ''))
`
/** Everything the core entry exports. */
const WHOLE_ENTRY = `import * as yatagarasu from 'yatagarasu'; (globalThis as any).yatagarasu = yatagarasu`

const ALLOWED_SOURCES = new Set(['yatagarasu', '@noble/hashes', 'jose', 'valibot', 'lru-cache', 'yaml', '@opentelemetry/api', 'entry'])

interface Measured {
  minified: number
  gzip: number
  /** Minified bytes per package. */
  bySource: Record<string, number>
  code: string
}

async function measure(contents: string): Promise<Measured> {
  const bundle: EdgeBundle = await bundleForEdge({ contents }, { minify: true })
  const bySource: Record<string, number> = {}
  for (const [file, { bytesInOutput }] of Object.entries(bundle.inputs)) {
    const source = file.startsWith('dist/') ? 'yatagarasu' : (/^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? 'entry')
    bySource[source] = (bySource[source] ?? 0) + bytesInOutput
  }
  return { minified: bundle.code.length, gzip: gzipSync(bundle.code).length, bySource, code: bundle.code }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`

describe('the edge bundle', () => {
  const cases = [
    // Budgets: today's figure plus some room; raise them knowingly, never by accident.
    { name: 'a worker using createYatagarasu', contents: WORKER, gzipBudget: 57 * 1024, yaml: false }, // 40 → 46: lru-cache (byte-bounded memory store) replaced quick-lru; 46 → 48: website, redirect (presigning) and compression (issue 17); 48 → 53: @opentelemetry/api (tracing, ~3 KB gzip); 53 → 55: refreshing credentials (the built-in providers are named by config, so any bundle that resolves a config carries them); 55 → 57: the synchronous memory-hit path, the lazy request URL, pushed S3 bodies and one credentials source per bucket (issues 12, 17)
    { name: 'the Next.js Edge route (createRouteHandlers + parseConfig)', contents: NEXT_EDGE_ROUTE, gzipBudget: 90 * 1024, yaml: true }, // 80 → 84: @opentelemetry/api; 84 → 88: refreshing credentials and their config; 88 → 90: as the worker, 55 → 57
    { name: 'the whole yatagarasu entry', contents: WHOLE_ENTRY, gzipBudget: 97 * 1024, yaml: true }, // 85 → 89: @opentelemetry/api; 89 → 95: refreshing credentials, the admin API (adminApi, prewarmCache); 95 → 97: as the worker, 55 → 57
  ]

  it.each(cases)('$name: within budget, made of the package and its dependencies only', async ({ name, contents, gzipBudget, yaml }) => {
    const measured = await measure(contents)
    const parts = Object.entries(measured.bySource)
      .sort((a, b) => b[1] - a[1])
      .map(([source, bytes]) => `${source} ${kb(bytes)}`)
      .join(', ')
    console.info(`edge bundle, ${name}: ${kb(measured.minified)} minified, ${kb(measured.gzip)} gzip (${parts})`)

    expect(measured.gzip).toBeLessThanOrEqual(gzipBudget)
    // No polyfill or shim sneaked in through a dependency: only these packages contribute.
    expect(Object.keys(measured.bySource).filter((source) => !ALLOWED_SOURCES.has(source))).toEqual([])
    // The YAML parser only comes with parseConfig; the plain handler stays without it.
    expect('yaml' in measured.bySource).toBe(yaml)
    expect(measured.code).not.toMatch(/\bBuffer\.|\bprocess\.(env|nextTick|versions)\b|\brequire\(/)
  })
})
