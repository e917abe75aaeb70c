/**
 * Schema and resolution of a bucket's `redirect` block: answering 307 to a presigned S3
 * GET URL instead of streaming the object through the proxy.
 */
import * as v from 'valibot'
import { bytesOr, ifEnabled, numberField, size, switchable } from './fields.js'

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
export const redirectSchema = switchable({
  /**
   * Objects at least this large are redirected; smaller ones stream through the proxy
   * as usual. Needs a HEAD to S3 per request (see docs/redirect.md). Absent or 0:
   * every object is redirected, with no HEAD.
   */
  minSize: v.optional(v.union([v.literal(0), size(104857600, '100MB')], 'expected a number of bytes or a size such as "100MB"')),
  /** Seconds the presigned URL stays valid, 1 to 604800 (seven days). Default 300. */
  expiresSeconds: v.optional(numberField({ min: 1, max: MAX_REDIRECT_EXPIRES_SECONDS, whole: true, unit: 'seconds' })),
})

export type RedirectConfig = v.InferOutput<typeof redirectSchema>

export const resolveRedirect = ifEnabled(
  (input: RedirectConfig): ResolvedRedirect => ({
    minSize: bytesOr(input.minSize, 0),
    expiresSeconds: input.expiresSeconds ?? DEFAULT_REDIRECT_EXPIRES_SECONDS,
  }),
)
