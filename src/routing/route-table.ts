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

  return {
    match(pathname, rawPath) {
      if (rawPath !== undefined) {
        const problem = findRawPathProblem(rawPath)
        if (problem !== undefined) return { kind: 'bad-key', bucket: undefined, problem }
      }
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
      for (let depth = Math.min(maxDepth, rest.length); depth >= 0; depth--) {
        const bucket = byPrefix.get(rest.slice(0, depth).join(JOIN))
        // `['']` joins like `[]`, so an empty first segment would match the root prefix
        // and be dropped: `//key` names the key `/key`, not `key`.
        if (bucket === undefined || (depth > 0 && bucket.pathPrefix === '')) continue
        const key = rest.slice(depth).join('/')
        if (key === '') return { kind: 'empty-key', bucket }
        const problem = findKeyProblem(key)
        return problem ? { kind: 'bad-key', bucket, problem } : { kind: 'object', bucket, key }
      }
      return { kind: 'no-bucket' }
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
