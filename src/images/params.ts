/**
 * Image transform parameters in the query string (`?w=800&h=600&fit=cover&fmt=webp`),
 * as pure functions: which requests ask for a transform, what they ask for once
 * validated, and the canonical text of it that keys the cache and the variant's ETag.
 */
import { BadRequestError } from '../errors.js'

/** Every query parameter the proxy reads as an image transform (`s` is the signature). */
export const IMAGE_PARAMETERS = ['w', 'h', 'fit', 'q', 'fmt', 'dpr', 'rotate', 'flip', 'blur', 'sharpen', 'grayscale'] as const
export type ImageParameter = (typeof IMAGE_PARAMETERS)[number]

export const IMAGE_FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const
export type ImageFit = (typeof IMAGE_FITS)[number]

export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const
export type ImageFormat = (typeof IMAGE_FORMATS)[number]

/**
 * A validated transform: what the transformer is asked to do. Dimensions are output
 * pixels with `dpr` applied; absent fields mean "unchanged".
 */
export interface ImageOperation {
  readonly width?: number
  readonly height?: number
  /** How the image fits a box given by both `width` and `height`. Default `cover`. */
  readonly fit: ImageFit
  /** Absent: the source's own format. */
  readonly format?: ImageFormat
  /** 1–100; absent: the encoder's default. */
  readonly quality?: number
  /** Clockwise degrees, after the EXIF orientation is applied. */
  readonly rotate?: 90 | 180 | 270
  /** `h` mirrors left–right, `v` top–bottom. */
  readonly flip?: 'h' | 'v'
  /** Gaussian blur sigma, 0.3–100. */
  readonly blur?: number
  /** Sharpen sigma, 0.01–10. */
  readonly sharpen?: number
  readonly grayscale: boolean
}

/** What a request asks for, before the output format is chosen (`fmt=auto` depends on `Accept`). */
export interface ImageRequest extends Omit<ImageOperation, 'format'> {
  readonly format?: ImageFormat | 'auto'
}

/** Output bounds the parameters are checked against. */
export interface ImageDimensionLimits {
  readonly maxWidth: number
  readonly maxHeight: number
}

/** A 400 whose message names the offending parameter. */
export class InvalidImageParameterError extends BadRequestError {
  readonly parameter: string

  constructor(parameter: string, expected: string) {
    super(`Invalid image parameter ${parameter}: ${expected}`)
    this.parameter = parameter
  }
}

const NAMES = new Set<string>(IMAGE_PARAMETERS)
const WHOLE = /^\d{1,9}$/
const DECIMAL = /^\d{1,9}(?:\.\d{1,6})?$/

/** True when the query names at least one image parameter: such a request is a transform. */
export function hasImageParameters(search: URLSearchParams): boolean {
  for (const name of search.keys()) if (NAMES.has(name)) return true
  return false
}

/**
 * Validates the image parameters of a query. Other parameters are left alone (a cache
 * buster such as `?v=3` is harmless). Throws {@link InvalidImageParameterError} for the
 * first parameter that is repeated, unknown in value or out of range.
 *
 * @example
 * parseImageRequest(new URLSearchParams('w=400&dpr=2&fmt=webp'), { maxWidth: 4096, maxHeight: 4096 })
 * // { width: 800, fit: 'cover', format: 'webp', grayscale: false }
 */
export function parseImageRequest(search: URLSearchParams, limits: ImageDimensionLimits): ImageRequest {
  const value = (name: ImageParameter): string | undefined => {
    const values = search.getAll(name)
    if (values.length > 1) throw new InvalidImageParameterError(name, 'must be given once')
    return values[0]
  }
  const dpr = decimalIn(value('dpr'), 'dpr', 1, 4, 'a number from 1 to 4') ?? 1
  const width = dimension(value('w'), 'w', dpr, limits.maxWidth)
  const height = dimension(value('h'), 'h', dpr, limits.maxHeight)
  const fit = oneOf(value('fit'), 'fit', IMAGE_FITS) ?? 'cover'
  const format = oneOf(value('fmt'), 'fmt', [...IMAGE_FORMATS, 'auto'] as const)
  const quality = wholeIn(value('q'), 'q', 1, 100)
  const rotate = oneOf(value('rotate'), 'rotate', ['90', '180', '270'] as const)
  const flip = oneOf(value('flip'), 'flip', ['h', 'v'] as const)
  const blur = decimalIn(value('blur'), 'blur', 0.3, 100, 'a number from 0.3 to 100')
  const sharpen = decimalIn(value('sharpen'), 'sharpen', 0.01, 10, 'a number from 0.01 to 10')
  const grayscale = flag(value('grayscale'), 'grayscale')
  return {
    ...(width !== undefined && { width }),
    ...(height !== undefined && { height }),
    fit,
    ...(format !== undefined && { format }),
    ...(quality !== undefined && { quality }),
    ...(rotate !== undefined && { rotate: Number(rotate) as 90 | 180 | 270 }),
    ...(flip !== undefined && { flip }),
    ...(blur !== undefined && { blur }),
    ...(sharpen !== undefined && { sharpen }),
    grayscale,
  }
}

/**
 * The output format for `fmt`: `auto` takes AVIF, then WebP, when the `Accept` header
 * lists them (with a non-zero `q`), else keeps the source's format (`undefined`).
 */
export function chooseFormat(format: ImageRequest['format'], accept: string | null): ImageFormat | undefined {
  if (format !== 'auto') return format
  if (accept === null) return undefined
  const accepted = acceptedTypes(accept)
  if (accepted.has('image/avif')) return 'avif'
  if (accepted.has('image/webp')) return 'webp'
  return undefined
}

/** The operation for a request whose output format has been chosen. */
export function toOperation(request: ImageRequest, format: ImageFormat | undefined): ImageOperation {
  const { format: _requested, ...rest } = request
  return format === undefined ? rest : { ...rest, format }
}

/**
 * The canonical text of an operation: the same for every URL that asks for the same
 * output (`w=400&dpr=2` and `w=800`, parameters in any order), different otherwise.
 * It keys the variant in the cache and feeds its ETag.
 */
export function canonicalOperation(operation: ImageOperation): string {
  const parts: string[] = []
  if (operation.width !== undefined) parts.push(`w=${operation.width}`)
  if (operation.height !== undefined) parts.push(`h=${operation.height}`)
  // The fit only matters when both sides are given.
  if (operation.width !== undefined && operation.height !== undefined) parts.push(`fit=${operation.fit}`)
  if (operation.format !== undefined) parts.push(`fmt=${operation.format}`)
  if (operation.quality !== undefined) parts.push(`q=${operation.quality}`)
  if (operation.rotate !== undefined) parts.push(`rotate=${operation.rotate}`)
  if (operation.flip !== undefined) parts.push(`flip=${operation.flip}`)
  if (operation.blur !== undefined) parts.push(`blur=${operation.blur}`)
  if (operation.sharpen !== undefined) parts.push(`sharpen=${operation.sharpen}`)
  if (operation.grayscale) parts.push('grayscale=1')
  return parts.join('&')
}

function dimension(text: string | undefined, name: 'w' | 'h', dpr: number, max: number): number | undefined {
  const base = wholeIn(text, name, 1, max)
  if (base === undefined) return undefined
  const pixels = Math.round(base * dpr)
  if (pixels > max) throw new InvalidImageParameterError(name, `${name} × dpr must be at most ${max}`)
  return pixels
}

function wholeIn(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined
  const n = WHOLE.test(text) ? Number(text) : Number.NaN
  if (!(n >= min && n <= max)) throw new InvalidImageParameterError(name, `must be a whole number from ${min} to ${max}`)
  return n
}

function decimalIn(text: string | undefined, name: string, min: number, max: number, expected: string): number | undefined {
  if (text === undefined) return undefined
  const n = DECIMAL.test(text) ? Number(text) : Number.NaN
  if (!(n >= min && n <= max)) throw new InvalidImageParameterError(name, `must be ${expected}`)
  return n
}

function oneOf<const T extends readonly string[]>(text: string | undefined, name: string, allowed: T): T[number] | undefined {
  if (text === undefined) return undefined
  if (!(allowed as readonly string[]).includes(text)) throw new InvalidImageParameterError(name, `must be one of ${allowed.join(', ')}`)
  return text as T[number]
}

function flag(text: string | undefined, name: string): boolean {
  if (text === undefined) return false
  if (text === '' || text === '1' || text === 'true') return true
  if (text === '0' || text === 'false') return false
  throw new InvalidImageParameterError(name, 'must be 1, true, 0 or false')
}

/** The media types an `Accept` header accepts (`q` > 0), lower-cased, without parameters. */
function acceptedTypes(accept: string): Set<string> {
  const types = new Set<string>()
  for (const item of accept.split(',')) {
    const [type, ...params] = item.split(';')
    const q = params.map((p) => p.trim()).find((p) => /^q=/i.test(p))
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue
    types.add(type!.trim().toLowerCase())
  }
  return types
}
