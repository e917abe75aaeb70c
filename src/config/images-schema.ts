/**
 * Schema and resolution of a bucket's `images` block: on-the-fly transforms and the
 * limits that keep them from being abused. As everywhere in the config, messages are
 * written here and never echo a value (the signing key is a secret).
 */
import * as v from 'valibot'
import { maskSecretsInJson } from './secrets.js'
import { bytesOr, ifEnabled, positiveInteger, size, switchable } from './fields.js'

/** Largest source object transformed, when `maxSourceSize` is not given (`'25MB'`). */
export const DEFAULT_IMAGES_MAX_SOURCE_SIZE = 25 * 1024 * 1024
/** Most source pixels (width × height) decoded, when `maxPixels` is not given. */
export const DEFAULT_IMAGES_MAX_PIXELS = 50_000_000
/** Widest and tallest output, when `maxWidth` / `maxHeight` are not given. */
export const DEFAULT_IMAGES_MAX_DIMENSION = 4096
/** Transforms running at once per bucket, when `maxConcurrent` is not given. */
export const DEFAULT_IMAGES_MAX_CONCURRENT = 4

/** A bucket's image settings after validation; only present when transforms are enabled. */
export interface ResolvedImages {
  /** Bytes. */
  readonly maxSourceSize: number
  readonly maxPixels: number
  readonly maxWidth: number
  readonly maxHeight: number
  readonly maxConcurrent: number
  /** Absent when signing is off (no key, or an empty one). */
  readonly signingKey?: string
}

/** A bucket's `images` block (YAML: `max_source_size`, `max_pixels`, `max_width`, `max_height`, `max_concurrent`, `signing_key`). */
export const imagesSchema = switchable({
  /**
   * Largest source object a transform reads, as a number of bytes or `'25MB'`. A transform
   * needs the whole image, so the source is held in memory up to this size; larger is 422.
   * Default `'25MB'`.
   */
  maxSourceSize: v.optional(size(26214400, '25MB')),
  /** Most source pixels (width × height) decoded; more is 422 without decoding. Default 50,000,000. */
  maxPixels: v.optional(positiveInteger),
  /** Widest output in pixels (after `dpr`); a larger `w` is 400, larger results are scaled down. Default 4096. */
  maxWidth: v.optional(positiveInteger),
  /** Tallest output in pixels (after `dpr`); a larger `h` is 400, larger results are scaled down. Default 4096. */
  maxHeight: v.optional(positiveInteger),
  /** Transforms running at once for this bucket; beyond it, 503 with `Retry-After`. Default 4. */
  maxConcurrent: v.optional(positiveInteger),
  /**
   * When set (non-empty), every transform request needs `s`: the lowercase hex
   * HMAC-SHA256 under this key of `PATH?QUERY` (docs/images.md). Missing or wrong → 403.
   * `${IMAGE_SIGNING_KEY:-}` gives '' when the variable is unset: that means "no signing".
   */
  signingKey: v.optional(v.string()),
})

export type ImagesConfig = v.InferOutput<typeof imagesSchema>

/** `enabled: false` leaves image parameters ignored. */
export const resolveImages = ifEnabled((input: ImagesConfig): ResolvedImages => {
  const resolved: ResolvedImages = {
    maxSourceSize: bytesOr(input.maxSourceSize, DEFAULT_IMAGES_MAX_SOURCE_SIZE),
    maxPixels: input.maxPixels ?? DEFAULT_IMAGES_MAX_PIXELS,
    maxWidth: input.maxWidth ?? DEFAULT_IMAGES_MAX_DIMENSION,
    maxHeight: input.maxHeight ?? DEFAULT_IMAGES_MAX_DIMENSION,
    maxConcurrent: input.maxConcurrent ?? DEFAULT_IMAGES_MAX_CONCURRENT,
    ...(input.signingKey !== undefined && input.signingKey !== '' && { signingKey: input.signingKey }),
  }
  return maskSecretsInJson(resolved, ['signingKey'])
})
