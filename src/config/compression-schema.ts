/**
 * Schema and resolution of a bucket's `compression` block: gzip (and br where the
 * runtime's CompressionStream offers it) on the way to the client.
 */
import * as v from 'valibot'
import { bytesOr, ifEnabled, size, switchable } from './fields.js'

/** Smallest object compressed, when `minSize` is not given (`'1KB'`). */
export const DEFAULT_COMPRESSION_MIN_SIZE = 1024
/** The media types compressed, when `types` is not given. */
export const DEFAULT_COMPRESSION_TYPES: readonly string[] = [
  'text/*',
  'application/json',
  'application/javascript',
  'application/xml',
  'image/svg+xml',
]

/** A bucket's compression settings after validation; only present when enabled. */
export interface ResolvedCompression {
  /** Bytes; objects whose `Content-Length` is smaller pass untouched. */
  readonly minSize: number
  /** Lower-case media types, exact (`application/json`) or a whole top-level type (`text/*`). */
  readonly types: readonly string[]
}

const mediaRange = v.pipe(
  v.string(),
  v.toLowerCase(),
  v.regex(/^[a-z0-9!#$&^_.+-]+\/(\*|[a-z0-9!#$&^_.+-]+)$/, 'must be a media type such as "text/*" or "application/json"'),
)

/** A bucket's `compression` block (YAML: `min_size`, `types`). */
export const compressionSchema = switchable({
  /** Objects smaller than this pass uncompressed. Default `'1KB'`. */
  minSize: v.optional(size(1024, '1KB')),
  /** Media types compressed (`text/*` matches every text type). Default: text, JSON, JavaScript, XML and SVG. */
  types: v.optional(v.pipe(v.array(mediaRange), v.minLength(1, 'must list at least one media type'))),
})

export type CompressionConfig = v.InferOutput<typeof compressionSchema>

export const resolveCompression = ifEnabled(
  (input: CompressionConfig): ResolvedCompression => ({
    minSize: bytesOr(input.minSize, DEFAULT_COMPRESSION_MIN_SIZE),
    types: input.types ?? DEFAULT_COMPRESSION_TYPES,
  }),
)
