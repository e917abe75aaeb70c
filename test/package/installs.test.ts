/**
 * The published package works: `npm pack` of the built library, installed into an
 * empty project, imported from ESM and CJS, answers a request through the Node
 * adapter (and through the Bun and Deno adapters on those runtimes); publint and arethetypeswrong find nothing wrong with its exports.
 * Needs `npm run build` first (the `test` script does it).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
let project: string
let tarball: string

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 })
}

beforeAll(() => {
  expect(existsSync(join(root, 'dist/index.js')), 'run `npm run build` before this test').toBe(true)
  project = mkdtempSync(join(tmpdir(), 'yatagarasu-pack-'))
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', project], root)) as Array<{
    filename: string
    files: Array<{ path: string }>
  }>
  tarball = join(project, packed[0]!.filename)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project)
}, 180_000)

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true })
})

const script = (importLine: string) => `
${importLine}
const handler = createYatagarasu({
  buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3: { bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', accessKey: 'a', secretKey: 's' } }],
})
const server = await serve(handler, { port: 0 })
const results = []
for (const [method, path] of [['GET', '/nope/x'], ['PUT', '/cdn/x'], ['GET', '/cdn/..%2Fx'], ['GET', '/cdn/x']]) {
  const response = await fetch(server.url + path, { method })
  const body = await response.json()
  results.push([response.status, body.error.code])
}
await server.close()
console.log(JSON.stringify(results))
`

const EXPECTED = [
  [404, 'NotFound'],
  [405, 'MethodNotAllowed'],
  [400, 'BadRequest'],
  [502, 'BadGateway'],
]

describe('the npm package', () => {
  it('ships only what users need', () => {
    const files = JSON.parse(run('npm', ['pack', '--dry-run', '--json'], root))[0].files.map((f: { path: string }) => f.path)
    expect(files).toContain('dist/index.js')
    expect(files).toContain('dist/index.cjs')
    expect(files).toContain('dist/index.d.ts')
    expect(files).toContain('LICENSE')
    expect(files.filter((f: string) => /^(src|test|docs|bench|examples|node_modules)\//.test(f))).toEqual([])
  })

  it('works from ESM', () => {
    writeFileSync(
      join(project, 'esm.mjs'),
      script("import { createYatagarasu } from 'yatagarasu'\nimport { serve } from 'yatagarasu/node'"),
    )
    expect(JSON.parse(run('node', ['esm.mjs'], project))).toEqual(EXPECTED)
  })

  it('works from CJS', () => {
    writeFileSync(
      join(project, 'cjs.cjs'),
      `(async () => {${script("const { createYatagarasu } = require('yatagarasu')\nconst { serve } = require('yatagarasu/node')")}})()`,
    )
    expect(JSON.parse(run('node', ['cjs.cjs'], project))).toEqual(EXPECTED)
  })

  it('works from CJS on a Node without require() of ES modules (before 20.19): jose and @noble/hashes are inside the CJS build', () => {
    writeFileSync(
      join(project, 'cjs-old-node.cjs'),
      `(async () => {${script("const { createYatagarasu } = require('yatagarasu')\nconst { serve } = require('yatagarasu/node')")}})()`,
    )
    expect(JSON.parse(run('node', ['--no-experimental-require-module', 'cjs-old-node.cjs'], project))).toEqual(EXPECTED)
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/yatagarasu/package.json'), 'utf8'))
    expect(pkg.engines.node).toBe('>=20')
  })

  it.each([
    ['bun', ['run'], 'yatagarasu/bun'],
    ['deno', ['run', '--allow-net', '--allow-env', '--allow-read'], 'yatagarasu/deno'],
  ])('works on the real %s through its adapter', (runtime, args, entry) => {
    const file = `${runtime}.mjs`
    writeFileSync(join(project, file), script(`import { createYatagarasu } from 'yatagarasu'\nimport { serve } from '${entry}'`))
    const env = { ...process.env, DENO_DIR: join(project, '.deno'), NO_COLOR: '1' }
    const output = execFileSync(join(root, 'node_modules/.bin', runtime), [...args, file], { cwd: project, encoding: 'utf8', env, timeout: 120_000 })
    expect(JSON.parse(output)).toEqual(EXPECTED)
  }, 150_000)

  it('has types and package.json exports that tools accept', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/yatagarasu/package.json'), 'utf8'))
    expect(pkg.sideEffects).toBe(false)
    const publint = run(join(root, 'node_modules/.bin/publint'), ['--strict', join(project, 'node_modules/yatagarasu')], root)
    expect(publint).not.toMatch(/error|warning/i)
    // attw exits non-zero whenever it reports anything, including the node10 notes below.
    // Into a file, not a pipe: attw exits before a large report has drained through a pipe,
    // and the JSON arrives cut short.
    const reportPath = join(project, 'attw.json')
    const report = openSync(reportPath, 'w')
    spawnSync(join(root, 'node_modules/.bin/attw'), [tarball, '--format', 'json'], { stdio: ['ignore', report, 'inherit'] })
    closeSync(report)
    const attw = readFileSync(reportPath, 'utf8')
    // node10 resolution (TypeScript's legacy `moduleResolution: node`) can't see subpath
    // exports at all; the package requires Node >= 20 and modern resolution.
    const problems = (JSON.parse(attw).analysis.problems as Array<{ resolutionKind?: string }>).filter(
      (problem) => problem.resolutionKind !== 'node10',
    )
    expect(problems).toEqual([])
    // attw resolves every entry point in four modes: tens of seconds on a busy machine.
  }, 120_000)
})
