/**
 * The core entry must run on any Web-standard runtime: bundling it for the browser
 * platform, with every Node built-in unresolvable, must succeed, and the bundle must
 * not mention Node globals.
 */
import { builtinModules } from 'node:module'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))

async function bundleCore() {
  const seenBuiltins: string[] = []
  const result = await build({
    entryPoints: ['src/index.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    conditions: ['worker', 'browser'],
    minify: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'refuse-node-builtins',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            if (NODE_BUILTINS.has(args.path)) {
              seenBuiltins.push(`${args.path} (from ${args.importer})`)
              return { path: args.path, external: true }
            }
            return undefined
          })
        },
      },
    ],
  })
  return { code: result.outputFiles[0]!.text, seenBuiltins }
}

describe('the core entry (yatagarasu)', () => {
  it('imports no Node built-in, directly or through a dependency', async () => {
    const { seenBuiltins } = await bundleCore()
    expect(seenBuiltins).toEqual([])
  })

  it('uses no Node globals', async () => {
    const { code } = await bundleCore()
    expect(code).not.toMatch(/\bBuffer\./)
    expect(code).not.toMatch(/\bprocess\.(env|nextTick|versions|on)\b/)
    expect(code).not.toMatch(/\b__dirname\b|\brequire\(/)
  })

  it('the refusal works: a module that imports node:http is caught', async () => {
    const result = await build({
      stdin: { contents: "import 'node:http'", resolveDir: process.cwd() },
      bundle: true,
      write: false,
      platform: 'browser',
      logLevel: 'silent',
    }).catch((error: Error) => error)
    expect(result).toBeInstanceOf(Error)
  })
})
