/**
 * Builds dist/ with tsup unless it is already newer than every input. `npm start` and the
 * test suite's global setup both need the built package, and a build takes from seconds
 * to minutes on a busy machine: doing it only when a source changed keeps both quick.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** tsup's entries (tsup.config.ts): each must exist in every format for dist/ to count as built. */
const ENTRIES = ['index', 'node', 'vercel', 'bun', 'deno', 'redis', 'server', 'cli']
const OUTPUTS = ENTRIES.flatMap((entry) => [`${entry}.js`, `${entry}.cjs`, `${entry}.d.ts`, `${entry}.d.cts`])

/**
 * Whether dist/ must be (re)built: an output is missing, or an input changed after the
 * oldest output was written. Times in ms; `outputs` holds undefined for a missing file.
 */
export function needsBuild(outputs, inputs) {
  if (outputs.length === 0 || outputs.some((time) => time === undefined)) return true
  const built = Math.min(...outputs)
  return inputs.some((time) => time > built)
}

function modified(file) {
  return existsSync(file) ? statSync(file).mtimeMs : undefined
}

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
  )
}

/** Runs tsup in `root` when needed; returns whether it did. Throws when the build fails. */
export function buildIfNeeded(root, { log = console.log } = {}) {
  const outputs = OUTPUTS.map((name) => modified(join(root, 'dist', name)))
  const inputs = ['package.json', 'tsup.config.ts', 'tsconfig.json'].map((name) => join(root, name)).concat(files(join(root, 'src')))
  if (!needsBuild(outputs, inputs.map((file) => modified(file) ?? 0))) return false
  log('Building dist/ (tsup)...')
  // tsup.config.ts builds ESM and CJS as two configs at once, so neither cleans dist/.
  rmSync(join(root, 'dist'), { recursive: true, force: true })
  const result = spawnSync(join(root, 'node_modules', '.bin', 'tsup'), ['--silent'], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) throw new Error(`the build (tsup) failed with ${result.status ?? result.signal}`)
  return true
}
