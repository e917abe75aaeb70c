import { readFileSync } from 'node:fs'
import { defineConfig } from 'tsup'

// server/config: the version the CLI and /metrics report.
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string }

const common = {
  entry: {
    index: 'src/index.ts',
    node: 'src/adapters/node.ts',
    vercel: 'src/adapters/vercel.ts',
    bun: 'src/adapters/bun.ts',
    deno: 'src/adapters/deno.ts',
    redis: 'src/stores/redis.ts',
    disk: 'src/stores/node/disk.ts',
    // The sharp image transformer: Node, Bun and Deno only, so never in the core entry.
    'images-sharp': 'src/images/sharp-transformer.ts',
    // server/config: `yatagarasu/server`, and the `yatagarasu` bin (its `#!` line is kept from the source).
    server: 'src/server/index.ts',
    cli: 'src/server/cli.ts',
  },
  define: { __YATAGARASU_VERSION__: JSON.stringify(version) },
  dts: true,
  target: 'es2022',
  platform: 'node',
  splitting: true,
  sourcemap: false,
  treeshake: true,
} as const

// `jose` 6 and `@noble/hashes` 2 are published as ES modules only. The ESM build imports
// them; the CJS build carries its own copy, because `require()` of an ES module works
// only from Node 20.19 (and 22.12) on, and `engines` promises Node 20.
// `dist/` is emptied by the build script: two configs run at once, and `clean` in
// either could delete the other's files.
export default defineConfig([
  { ...common, format: ['esm'] },
  { ...common, format: ['cjs'], noExternal: ['jose', /^@noble\/hashes/] },
])
