/**
 * Real images made by sharp for the image tests: one 1200×800 picture (blue, with a red
 * 200×200 block in its top-left corner, so orientation can be read back) in JPEG, PNG,
 * WebP and AVIF, and a JPEG whose pixels are that picture but whose EXIF orientation
 * is 6 (shown rotated 90° clockwise: 800×1200, red block top-right).
 */
import sharp from 'sharp'

export interface TestImages {
  jpeg: Uint8Array
  png: Uint8Array
  webp: Uint8Array
  avif: Uint8Array
  /** EXIF orientation 6. */
  exif6: Uint8Array
}

export const WIDTH = 1200
export const HEIGHT = 800

export async function makeTestImages(): Promise<TestImages> {
  const png = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#0000ff' } })
    .composite([{ input: { create: { width: 200, height: 200, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
    .png()
    .toBuffer()
  const [jpeg, webp, avif, exif6] = await Promise.all([
    sharp(png).jpeg().toBuffer(),
    sharp(png).webp().toBuffer(),
    sharp(png).avif().toBuffer(),
    sharp(png).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
  ])
  return { jpeg: bytes(jpeg), png: bytes(png), webp: bytes(webp), avif: bytes(avif), exif6: bytes(exif6) }
}

/** Random pixels: an image that compresses badly, for size limits. */
export async function noiseJpeg(width: number, height: number): Promise<Uint8Array> {
  const raw = new Uint8Array(width * height * 3)
  let seed = 12345
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    raw[i] = seed >> 16
  }
  return bytes(await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer())
}

export interface Described {
  format: string | undefined
  width: number | undefined
  height: number | undefined
  orientation: number | undefined
}

export async function describeImage(data: Uint8Array): Promise<Described> {
  const { format, width, height, orientation } = await sharp(data).metadata()
  return { format, width, height, orientation }
}

/** Whether the pixel at (x, y) is mostly red (the marker block) rather than blue. */
export async function isRedAt(data: Uint8Array, x: number, y: number): Promise<boolean> {
  const { data: pixel } = await sharp(data).extract({ left: x, top: y, width: 1, height: 1 }).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  return pixel[0]! > 150 && pixel[2]! < 100
}

function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}
