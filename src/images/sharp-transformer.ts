/**
 * The sharp image transformer (`yatagarasu/images-sharp`): libvips through sharp's
 * prebuilt binaries, on Node, Bun and Deno. Kept out of the core entry so that edge
 * bundles never see it; `sharp` is an optional peer dependency (`npm install sharp`).
 */
import sharp, { type Sharp } from 'sharp'
import type { ImageFormat, ImageOperation } from './params.js'
import {
  ImageTooLargeError,
  UnsupportedImageError,
  type ImageLimits,
  type ImageTransformer,
  type TransformedImage,
} from './transformer.js'

export interface SharpTransformerOptions {
  /**
   * Threads libvips may use per image (`sharp.concurrency`). Default: sharp's own
   * (one per CPU core). The bucket's `maxConcurrent` bounds how many images at once.
   */
  threads?: number
}

// What sharp calls the formats it reads; HEIF covers AVIF.
const SOURCE_FORMATS: Record<string, ImageFormat> = { jpeg: 'jpeg', png: 'png', webp: 'webp', heif: 'avif', avif: 'avif' }

/**
 * An {@link ImageTransformer} backed by sharp. The source is decoded once, with the
 * pixel limit checked from its header before any pixel is decoded; metadata (EXIF,
 * GPS, ICC comments) is dropped from the output after the orientation is applied.
 *
 * @example
 * import { createYatagarasu } from 'yatagarasu'
 * import { sharpTransformer } from 'yatagarasu/images-sharp'
 * const handler = createYatagarasu(config, { imageTransformer: sharpTransformer() })
 */
export function sharpTransformer(options: SharpTransformerOptions = {}): ImageTransformer {
  if (options.threads !== undefined) sharp.concurrency(options.threads)
  return {
    async transform(source, operation, limits) {
      try {
        return await render(source, operation, limits)
      } catch (error) {
        throw asImageError(error)
      }
    },
  }
}

async function render(source: Uint8Array, operation: ImageOperation, limits: ImageLimits): Promise<TransformedImage> {
  const input = { limitInputPixels: limits.maxPixels, failOn: 'error' as const }
  const metadata = await sharp(source, input).metadata()
  const sourceFormat = metadata.format !== undefined ? SOURCE_FORMATS[metadata.format] : undefined
  if (sourceFormat === undefined) throw new UnsupportedImageError('The object is not a JPEG, PNG, WebP or AVIF image')
  if ((metadata.width ?? 0) * (metadata.height ?? 0) > limits.maxPixels) throw tooManyPixels(limits)
  const format = operation.format ?? sourceFormat

  let image = sharp(source, input).autoOrient()
  if (operation.rotate !== undefined) image = image.rotate(operation.rotate)
  if (operation.flip === 'h') image = image.flop()
  if (operation.flip === 'v') image = image.flip()
  image = resize(image, operation, limits, format)
  if (operation.blur !== undefined) image = image.blur(operation.blur)
  if (operation.sharpen !== undefined) image = image.sharpen({ sigma: operation.sharpen })
  if (operation.grayscale) image = image.grayscale()
  let { data, info } = await encode(image, format, operation.quality).toBuffer({ resolveWithObject: true })
  // Only `fit=outside` can come out larger than the box it was given: bring it within the limits.
  if (info.width > limits.maxWidth || info.height > limits.maxHeight) {
    const bounded = sharp(data).resize({ width: limits.maxWidth, height: limits.maxHeight, fit: 'inside' })
    ;({ data, info } = await encode(bounded, format, operation.quality).toBuffer({ resolveWithObject: true }))
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), format }
}

/**
 * The resize: the requested box, never enlarging; a side not given is bounded by the
 * limit, so a tall image asked for by width alone still ends within `maxHeight`.
 */
function resize(image: Sharp, operation: ImageOperation, limits: ImageLimits, format: ImageFormat): Sharp {
  const { width, height } = operation
  if (width !== undefined && height !== undefined) {
    return image.resize({
      width,
      height,
      fit: operation.fit,
      withoutEnlargement: true,
      // `contain` letterboxes: transparent where the format has alpha, white in a JPEG.
      background: format === 'jpeg' ? { r: 255, g: 255, b: 255, alpha: 1 } : { r: 0, g: 0, b: 0, alpha: 0 },
    })
  }
  return image.resize({
    width: width ?? limits.maxWidth,
    height: height ?? limits.maxHeight,
    fit: 'inside',
    withoutEnlargement: true,
  })
}

function encode(image: Sharp, format: ImageFormat, quality: number | undefined): Sharp {
  const q = quality === undefined ? {} : { quality }
  switch (format) {
    case 'jpeg':
      return image.jpeg(q)
    case 'png':
      // PNG is lossless: quality only matters with a palette, which is not used.
      return image.png()
    case 'webp':
      return image.webp(q)
    case 'avif':
      return image.avif(q)
  }
}

function tooManyPixels(limits: ImageLimits): ImageTooLargeError {
  return new ImageTooLargeError(`The source image has more than ${limits.maxPixels} pixels`)
}

/** sharp's errors as the proxy's: a pixel limit is 422, anything it can't decode is 415. */
function asImageError(error: unknown): unknown {
  if (error instanceof ImageTooLargeError || error instanceof UnsupportedImageError) return error
  const message = error instanceof Error ? error.message : ''
  if (/pixel limit/i.test(message)) return new ImageTooLargeError('The source image has too many pixels', { cause: error })
  if (/unsupported image format|corrupt|premature end|invalid|bad seek|vips/i.test(message)) {
    return new UnsupportedImageError('The object could not be read as an image', { cause: error })
  }
  return error
}
