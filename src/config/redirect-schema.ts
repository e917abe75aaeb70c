/**
 * Schema and resolution of a bucket's `redirect` block: answering 307 to a presigned S3
 * GET URL instead of streaming the object through the proxy.
 */
import * as v from 'valibot'
import { size } from './fields.js'
import { parseSize } from './size.js'

/** Lifetime of a presigned URL, when `expiresSeconds` is not given. */
export const DEFAULT_REDIRECT_EXPIRES_SECONDS = 300
/** SigV4 query signing allows at most seven days. */
export const MAX_REDIRECT_EXPIRES_SECONDS = 604_800

/** A bucket's redirect settings after validation; only present when enabled. */
export interface ResolvedRedirect {
  /** Bytes; 0 redirects every object without asking S3 for its size first. */
  readonly minSize: number
  readonly expiresSeconds: number
}

/** A bucket's `redirect` block (YAML: `min_size`, `expires_seconds`). */
export const redirectSchema = v.object({
  /** Default `true` when the block is present. */
  enabled: v.optional(v.boolean()),
  /**
   * Objects at least this large are redirected; smaller ones stream through the proxy
   * as usual. Needs a HEAD to S3 per request (see docs/redirect.md). Absent or 0:
   * every object is redirected, with no HEAD.
   */
  minSize: v.optional(v.union([v.literal(0), size(104857600, '100MB')], 'expected a number of bytes or a size such as "100MB"')),
  /** Seconds the presigned URL stays valid, 1 to 604800 (seven days). Default 300. */
  expiresSeconds: v.optional(
    v.pipe(
      v.number(),
      v.check((n) => Number.isSafeInteger(n) && n >= 1 && n <= MAX_REDIRECT_EXPIRES_SECONDS, 'must be a whole number of seconds from 1 to 604800'),
    ),
  ),
})

export type RedirectConfig = v.InferOutput<typeof redirectSchema>

export function resolveRedirect(input: RedirectConfig | undefined): ResolvedRedirect | undefined {
  if (input === undefined || input.enabled === false) return undefined
  return {
    minSize: input.minSize === undefined || input.minSize === 0 ? 0 : parseSize(input.minSize)!,
    expiresSeconds: input.expiresSeconds ?? DEFAULT_REDIRECT_EXPIRES_SECONDS,
  }
}
