import { readFileSync } from 'node:fs'
import { defineConfig } from 'tsup'

// server/config: the version the CLI and /metrics report.
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string }

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    node: 'src/adapters/node.ts',
    vercel: 'src/adapters/vercel.ts',
    bun: 'src/adapters/bun.ts',
    deno: 'src/adapters/deno.ts',
    redis: 'src/stores/redis.ts',
    disk: 'src/stores/disk.ts',
    // The sharp image transformer: Node, Bun and Deno only, so never in the core entry.
    'images-sharp': 'src/images/sharp-transformer.ts',
    // server/config: `yatagarasu/server`, and the `yatagarasu` bin (its `#!` line is kept from the source).
    server: 'src/server/index.ts',
    cli: 'src/server/cli.ts',
  },
  define: { __YATAGARASU_VERSION__: JSON.stringify(version) },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  splitting: true,
  sourcemap: false,
  treeshake: true,
})
