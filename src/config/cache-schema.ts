/**
 * Schema and resolution of a bucket's `cache` block.
 * TODO(cache issue): caching is not implemented yet; a cache block is refused.
 */
import * as v from 'valibot'

export const cacheSchema = v.pipe(
  v.unknown(),
  v.check(() => false, 'caching is not supported by this version'),
)

export type ResolvedCache = never

export function resolveCache(_input: unknown): ResolvedCache | undefined {
  return undefined
}
