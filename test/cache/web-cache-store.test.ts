/**
 * The Web Cache API store under the real Deno binary (Node has no `caches`): the core
 * is bundled for the browser platform with esbuild, and a Deno script exercises the
 * store and a whole handler on Deno's `caches.open()`, printing JSON results.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, createYatagarasu, silentLogger, webCacheStore } from '../../src/index.js'
import { cachedConfig, fakeOrigin } from '../support/cache-origin.js'

const root = resolve(import.meta.dirname, '../..')
const deno = join(root, 'node_modules/.bin/deno')
let dir: string
let results: Record<string, unknown>

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'yatagarasu-deno-'))
  const bundle = join(dir, 'yatagarasu.mjs')
  await build({
    entryPoints: [join(root, 'src/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['worker', 'browser'],
    outfile: bundle,
    logLevel: 'silent',
  })
  const { stdout } = await promisify(execFile)(
    deno,
    ['run', '--no-prompt', `--allow-read=${dir}`, join(root, 'test/fixtures/web-cache-store.deno.mjs'), bundle],
    { cwd: dir, env: { ...process.env, DENO_DIR: join(dir, 'deno-dir'), NO_COLOR: '1' }, timeout: 60_000 },
  )
  results = JSON.parse(stdout.trim().split('\n').at(-1)!)
}, 90_000)

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('webCacheStore on Deno', () => {
  it('round-trips binary bodies and headers through caches.open()', () => {
    expect(results.roundTrip).toBe(true)
    expect(results.missing).toBe(true)
  })

  it('expires entries by its clock', () => {
    expect(results.beforeExpiry).toBe(true)
    expect(results.afterExpiry).toBe(true)
  })

  it('deletes one key, and a prefix (Deno has Cache.keys())', () => {
    expect([results.deleted, results.deletedAgain, results.goneAfterDelete]).toEqual([true, false, true])
    expect(results.prefixError).toBeUndefined()
    expect([results.prefixRemoved, results.prefixKept]).toEqual([2, true])
  })

  it('backs a whole handler: MISS, then HIT without S3; purge works', () => {
    expect(results.handler).toEqual(['MISS', 'logo-bytes', 'HIT', 'logo-bytes', '"l"', 1])
    expect(results.purged).toBe(1)
  })
})

describe('webCacheStore where there is no caches (Node)', () => {
  it('rejects, so requests are served from S3 with BYPASS', async () => {
    const origin = fakeOrigin()
    origin.put('x.txt', 'from s3')
    const handler = createYatagarasu(cachedConfig(), {
      fetch: origin.fetch,
      cache: createCache({ store: webCacheStore() }),
      logger: silentLogger,
    })
    const response = await handler(new Request('http://proxy.test/cdn/x.txt'))
    expect([response.status, response.headers.get('x-cache'), await response.text()]).toEqual([200, 'BYPASS', 'from s3'])
  })
})
