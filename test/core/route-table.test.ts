/**
 * The route table reads a path without `%` from its slashes, without splitting it into
 * segments: it must route every path exactly as the segment-by-segment lookup does (the
 * reference below is that lookup, as it was before the fast path).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveConfig, type YatagarasuConfig } from '../../src/index.js'
import { findKeyProblem } from '../../src/routing/object-key.js'
import { createRouteTable, type RouteMatch } from '../../src/routing/route-table.js'
import type { ResolvedConfig } from '../../src/config/types.js'

function referenceMatch(config: ResolvedConfig, pathname: string): RouteMatch {
  const split = (prefix: string) => (prefix === '' ? [] : prefix.split('/').slice(1))
  const byPrefix = new Map<string, ResolvedConfig['buckets'][number]>()
  let maxDepth = 0
  for (const bucket of config.buckets) {
    const segments = split(bucket.pathPrefix)
    byPrefix.set(segments.join('\0'), bucket)
    maxDepth = Math.max(maxDepth, segments.length)
  }
  const base = split(config.basePath)
  const segments = pathname.split('/').slice(1)
  if (segments.length < base.length || !base.every((segment, i) => segments[i] === segment)) return { kind: 'no-bucket' }
  const rest = segments.slice(base.length)
  for (let depth = Math.min(maxDepth, rest.length); depth >= 0; depth--) {
    const bucket = byPrefix.get(rest.slice(0, depth).join('\0'))
    if (bucket === undefined || (depth > 0 && bucket.pathPrefix === '')) continue
    const key = rest.slice(depth).join('/')
    if (key === '') return { kind: 'empty-key', bucket }
    const problem = findKeyProblem(key)
    return problem ? { kind: 'bad-key', bucket, problem } : { kind: 'object', bucket, key }
  }
  return { kind: 'no-bucket' }
}

const s3 = { bucket: 'b', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' }
const word = fc.constantFrom('a', 'b', 'cdn', 'api', 'x.y', '')
const prefix = fc.array(word, { minLength: 0, maxLength: 3 }).map((segments) => (segments.length === 0 ? '' : `/${segments.join('/')}`))
const config = fc
  .record({ basePath: fc.constantFrom('', '/api', '/a/b'), prefixes: fc.uniqueArray(prefix, { minLength: 1, maxLength: 5 }) })
  .map(({ basePath, prefixes }) => {
    try {
      return resolveConfig({ basePath, buckets: prefixes.map((pathPrefix, i) => ({ name: `b${i}`, pathPrefix, s3 })) } as YatagarasuConfig)
    } catch {
      return undefined // a config the validation refuses (say, two prefixes the same once normalised)
    }
  })
const path = fc
  .array(fc.oneof(word, fc.constantFrom('..', '.', 'k.txt', 'é', ' '), fc.string({ maxLength: 3 }).filter((s) => !s.includes('%') && !s.includes('/'))), { maxLength: 6 })
  .map((segments) => `/${segments.join('/')}`)

describe('route table', () => {
  it('routes a path without % as the segment-by-segment lookup does', () => {
    let checked = 0
    fc.assert(
      fc.property(config, fc.array(path, { minLength: 1, maxLength: 10 }), (resolved, paths) => {
        if (resolved === undefined) return
        const table = createRouteTable(resolved)
        for (const pathname of paths) {
          if (pathname.includes('\0')) continue
          expect(table.match(pathname)).toEqual(referenceMatch(resolved, pathname))
          checked++
        }
      }),
      { numRuns: 1500 },
    )
    expect(checked).toBeGreaterThan(1000)
  })
})
