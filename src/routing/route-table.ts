import type { ResolvedBucket, ResolvedConfig } from '../config/types.js'
import { decodeSegment, findKeyProblem, findRawPathProblem, type KeyProblem } from './object-key.js'

/** The result of matching a request path. */
export type RouteMatch =
  | { kind: 'object'; bucket: ResolvedBucket; key: string }
  | { kind: 'empty-key'; bucket: ResolvedBucket }
  | { kind: 'no-bucket' }
  | { kind: 'bad-key'; bucket: ResolvedBucket | undefined; problem: KeyProblem }

export interface RouteTable {
  /**
   * Routes a URL's (normalised) `pathname`. With `rawPath`, the path as received, that
   * is checked first: a `\\` or a dot segment in it is a `bad-key` before any lookup
   * (see {@link findRawPathProblem}).
   */
  match(pathname: string, rawPath?: string): RouteMatch
}

// Decoded segments can hold '/', but never NUL (refused before lookup), so NUL joins them.
const JOIN = '\0'

/**
 * Builds the prefix lookup once. Matching is per decoded path segment (`/cdn` serves
 * `/cdn/a` but not `/cdnx/a`) and tries the longest prefix first, so the cost is one
 * map lookup per prefix depth, whatever the number of buckets.
 */
export function createRouteTable(config: ResolvedConfig): RouteTable {
  const byPrefix = new Map<string, ResolvedBucket>()
  let maxDepth = 0
  for (const bucket of config.buckets) {
    const segments = prefixSegments(bucket.pathPrefix)
    byPrefix.set(segments.join(JOIN), bucket)
    maxDepth = Math.max(maxDepth, segments.length)
  }
  const base = prefixSegments(config.basePath)
  const baseText = base.length === 0 ? '' : `/${base.join('/')}`

  /** The lookup of the longest prefix and the key after it, from `rest`'s segments. */
  function lookup(segmentCount: number, prefixKey: (depth: number) => string, keyAfter: (depth: number) => string): RouteMatch {
    for (let depth = Math.min(maxDepth, segmentCount); depth >= 0; depth--) {
      const bucket = byPrefix.get(prefixKey(depth))
      // `['']` joins like `[]`, so an empty first segment would match the root prefix
      // and be dropped: `//key` names the key `/key`, not `key`.
      if (bucket === undefined || (depth > 0 && bucket.pathPrefix === '')) continue
      const key = keyAfter(depth)
      if (key === '') return { kind: 'empty-key', bucket }
      const problem = findKeyProblem(key)
      return problem ? { kind: 'bad-key', bucket, problem } : { kind: 'object', bucket, key }
    }
    return { kind: 'no-bucket' }
  }

  /**
   * A path without `%` (or NUL) decodes to itself: the same lookup as {@link matchDecoded},
   * read from the string's slashes instead of arrays of segments split, sliced and joined
   * on every request (they were a tenth of a cache hit's handler time).
   */
  function matchPlain(pathname: string): RouteMatch {
    let rest: string
    if (baseText === '') rest = pathname
    else if (pathname === baseText) rest = ''
    else if (pathname.startsWith(baseText) && pathname.charCodeAt(baseText.length) === 47 /* / */) rest = pathname.slice(baseText.length)
    else return { kind: 'no-bucket' }
    // `rest` is '' or '/segment/segment...'; slash[i] is where segment i begins, less one.
    const slash: number[] = []
    for (let i = rest.indexOf('/'); i !== -1; i = rest.indexOf('/', i + 1)) slash.push(i)
    const count = slash.length
    const endOf = (depth: number) => (depth < count ? slash[depth]! : rest.length)
    return lookup(
      count,
      (depth) => (depth === 0 ? '' : depth === 1 ? rest.slice(1, endOf(1)) : rest.slice(1, endOf(depth)).replaceAll('/', JOIN)),
      (depth) => (depth < count ? rest.slice(slash[depth]! + 1) : ''),
    )
  }

  function matchDecoded(pathname: string): RouteMatch {
    const raw = pathname.split('/').slice(1)
      const segments: string[] = []
      for (const part of raw) {
        const decoded = decodeSegment(part)
        if (decoded === undefined || decoded.includes('\0')) {
          return { kind: 'bad-key', bucket: undefined, problem: decoded === undefined ? 'encoding' : 'nul' }
        }
        segments.push(decoded)
      }
      if (!startsWithSegments(segments, base)) return { kind: 'no-bucket' }
      const rest = segments.slice(base.length)
      return lookup(
        rest.length,
        (depth) => rest.slice(0, depth).join(JOIN),
        (depth) => rest.slice(depth).join('/'),
      )
  }

  return {
    match(pathname, rawPath) {
      if (rawPath !== undefined) {
        const problem = findRawPathProblem(rawPath)
        if (problem !== undefined) return { kind: 'bad-key', bucket: undefined, problem }
      }
      const plain = pathname.charCodeAt(0) === 47 && !pathname.includes('%') && !pathname.includes('\0')
      return plain ? matchPlain(pathname) : matchDecoded(pathname)
    },
  }
}

function prefixSegments(prefix: string): string[] {
  return prefix === '' ? [] : prefix.split('/').slice(1)
}

function startsWithSegments(segments: readonly string[], prefix: readonly string[]): boolean {
  if (segments.length < prefix.length) return false
  return prefix.every((segment, i) => segments[i] === segment)
}
