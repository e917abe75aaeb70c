/**
 * Schema and resolution of a bucket's `auth` block.
 * TODO(auth issue): until JWT auth exists, any auth block is refused, so no bucket
 * meant to be private can ever be served publicly by mistake.
 */
import * as v from 'valibot'

export const authSchema = v.pipe(
  v.unknown(),
  v.check(() => false, 'authentication is not supported by this version'),
)

export type ResolvedAuth = never

export function resolveAuth(_input: unknown): ResolvedAuth | undefined {
  return undefined
}
