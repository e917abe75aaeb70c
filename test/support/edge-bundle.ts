/**
 * Bundles code the way an edge deployment does (Vercel Edge, Next's Edge routes, other
 * worker platforms): esbuild for the browser platform with the `edge-light`, `worker`
 * and `browser` export conditions, into one classic script. Node built-ins are refused
 * rather than shimmed, so a stray `node:` import fails the bundle instead of shipping a
 * polyfill. `yatagarasu` resolves to the built package (dist) through its own exports.
 */
import { builtinModules } from 'node:module'
import { resolve } from 'node:path'
import { build, type Metafile } from 'esbuild'

const ROOT = resolve(import.meta.dirname, '../..')
const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))

export interface EdgeBundle {
  code: string
  /** Bytes per input file in the output, for reporting what the size is made of. */
  inputs: Metafile['outputs'][string]['inputs']
}

/** `entry` is a file path relative to the repo root, or `{ contents }`: source text resolved from the repo root. */
export async function bundleForEdge(entry: string | { contents: string }, options: { minify?: boolean } = {}): Promise<EdgeBundle> {
  const result = await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [resolve(ROOT, entry)] }
      : { stdin: { contents: entry.contents, resolveDir: ROOT, sourcefile: 'edge-entry.ts', loader: 'ts' as const } }),
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    conditions: ['edge-light', 'worker', 'browser'],
    target: 'es2022',
    minify: options.minify ?? false,
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'refuse-node-builtins',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) =>
            NODE_BUILTINS.has(args.path)
              ? { errors: [{ text: `Node built-in "${args.path}" imported by ${args.importer}: not available on the edge` }] }
              : undefined,
          )
        },
      },
    ],
  })
  const output = Object.values(result.metafile.outputs)[0]!
  return { code: result.outputFiles[0]!.text, inputs: output.inputs }
}
