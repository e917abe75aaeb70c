/**
 * The image transformer interface: what the proxy needs from an image library. The
 * core never imports one; `sharpTransformer()` (`yatagarasu/images-sharp`, Node, Bun
 * and Deno) implements it with sharp, and on an edge runtime a platform's image
 * service can implement it the same way.
 */
import { HttpError } from '../errors.js'
import type { ImageFormat, ImageOperation } from './params.js'

/** Bounds a transformer must keep to (from the bucket's `images` block). */
export interface ImageLimits {
  /** Refuse a source with more pixels (width × height) than this, before decoding it: {@link ImageTooLargeError}. */
  readonly maxPixels: number
  /** Scale the result down (keeping its aspect) until it is at most this wide and tall. */
  readonly maxWidth: number
  readonly maxHeight: number
}

export interface TransformedImage {
  readonly data: Uint8Array
  readonly format: ImageFormat
}

/**
 * Turns a whole source image into the variant an {@link ImageOperation} describes.
 *
 * The steps, in order: apply the EXIF orientation (and drop the metadata), `rotate`,
 * `flip`, resize (never enlarging: a source smaller than the box keeps its size; with
 * one side given the other follows the aspect ratio; with both, `fit` decides as in
 * CSS `object-fit`: `cover` crops, `contain` letterboxes, `fill` stretches, `inside`
 * and `outside` keep the aspect ratio within / around the box), `blur`, `sharpen`,
 * `grayscale`, then encode as `format` (the source's format when absent) at `quality`.
 *
 * Throw {@link ImageTooLargeError} for a source over `limits.maxPixels` and
 * {@link UnsupportedImageError} for bytes that are not a decodable image.
 *
 * @example
 * // An edge platform's image service behind the same interface (sketch):
 * const transformer: ImageTransformer = {
 *   async transform(source, operation) {
 *     const response = await platformImages.transform(source, { width: operation.width, format: operation.format ?? 'webp' })
 *     return { data: new Uint8Array(await response.arrayBuffer()), format: operation.format ?? 'webp' }
 *   },
 * }
 * createYatagarasu(config, { imageTransformer: transformer })
 */
export interface ImageTransformer {
  transform(source: Uint8Array, operation: ImageOperation, limits: ImageLimits): Promise<TransformedImage>
}

/** The source image is over `maxSourceSize` bytes or `maxPixels` pixels: 422. */
export class ImageTooLargeError extends HttpError {
  override readonly code = 'ImageTooLarge'
  override readonly status = 422
}

/** The object is not an image the transformer can decode: 415. */
export class UnsupportedImageError extends HttpError {
  override readonly code = 'UnsupportedImage'
  override readonly status = 415
}

/**
 * A transformer made on first use, so that an image library is loaded only when a
 * transform is asked for. A failed load is retried on the next request.
 *
 * @example
 * // Node: sharp is imported only if a request asks for a transform.
 * const imageTransformer = lazyTransformer(() => import('yatagarasu/images-sharp').then((m) => m.sharpTransformer()))
 */
export function lazyTransformer(load: () => Promise<ImageTransformer>): ImageTransformer {
  let loading: Promise<ImageTransformer> | undefined
  return {
    async transform(source, operation, limits) {
      loading ??= load().catch((error: unknown) => {
        loading = undefined
        throw error
      })
      return (await loading).transform(source, operation, limits)
    },
  }
}
