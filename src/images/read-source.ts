/**
 * Reads a source image whole, up to a limit. A transform needs every byte before it
 * can decode (formats put their index at the end, EXIF orientation at the start), so
 * this is the one place the proxy holds a body in memory — bounded by the bucket's
 * `maxSourceSize`: a declared length over it is refused before reading, an undeclared
 * one as soon as the bytes pass it, and the S3 transfer is cancelled either way.
 */
import { joinChunks } from '../cache/fill.js'
import { BadGatewayError } from '../errors.js'

export type SourceRead =
  | { readonly bytes: Uint8Array; readonly tooLarge?: undefined }
  | { readonly bytes?: undefined; readonly tooLarge: true }

export async function readSource(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  declared: number | undefined,
): Promise<SourceRead> {
  if (declared !== undefined && declared > maxBytes) {
    await body.cancel().catch(() => {})
    return { tooLarge: true }
  }
  const reader = body.getReader()
  // With a declared length the bytes go straight into one buffer of that size; without,
  // chunks are kept and joined once at the end.
  const target = declared !== undefined ? new Uint8Array(declared) : undefined
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (target !== undefined && length + value.byteLength > target.byteLength) {
      await reader.cancel().catch(() => {})
      throw new BadGatewayError('The storage backend sent more bytes than it declared')
    }
    if (length + value.byteLength > maxBytes) {
      await reader.cancel().catch(() => {})
      return { tooLarge: true }
    }
    if (target !== undefined) target.set(value, length)
    else chunks.push(value)
    length += value.byteLength
  }
  if (target !== undefined) {
    if (length !== target.byteLength) throw new BadGatewayError('The storage backend sent fewer bytes than it declared')
    return { bytes: target }
  }
  return { bytes: joinChunks(chunks, length) }
}
