/**
 * The disk store on Bun and Deno (real binaries from node_modules): the built
 * `yatagarasu/disk` writes, reads, streams and survives a re-open there too.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const script = join(root, 'test/fixtures/disk-store.runtime.mjs')
const module = join(root, 'dist/disk.js')
const dirs: string[] = []

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

async function run(command: string, args: (dir: string) => string[], env: (dir: string) => Record<string, string> = () => ({})) {
  const dir = mkdtempSync(join(tmpdir(), 'yatagarasu-disk-runtime-'))
  dirs.push(dir)
  const { stdout } = await promisify(execFile)(command, args(dir), { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env(dir) }, timeout: 60_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
}

const expected = { get: true, getStream: true, reopenedEntries: 2, reopenedHeaders: { etag: '"a"' }, reopenedStream: true, deleted: 2 }

describe('diskStore on other runtimes', () => {
  it('works on Bun', async () => {
    expect(await run(join(root, 'node_modules/.bin/bun'), (dir) => [script, module, join(dir, 'cache')])).toEqual(expected)
  }, 90_000)

  it('works on Deno', async () => {
    const results = await run(
      join(root, 'node_modules/.bin/deno'),
      (dir) => ['run', '--no-prompt', '--allow-read', `--allow-write=${dir}`, '--allow-env', script, module, join(dir, 'cache')],
      (dir) => ({ DENO_DIR: join(dir, 'deno-dir') }),
    )
    expect(results).toEqual(expected)
  }, 90_000)
})
