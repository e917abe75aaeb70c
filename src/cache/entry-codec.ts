import type { CacheEntry } from './store.js'

/**
 * A byte encoding of a {@link CacheEntry} for stores that hold one opaque value per key
 * (Redis, the Web Cache API): a version byte, the metadata as UTF-8 JSON behind its
 * 4-byte big-endian length, then the body unchanged.
 *
 * ```
 * [1][meta length u32][{"h":{...},"s":storedAt,"e":expiresAt,"f"?:freshUntil}][body ...]
 * ```
 */
const VERSION = 1
const HEADER_BYTES = 5

interface Meta {
  h: Record<string, string>
  s: number
  e: number
  f?: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function encodeEntry(entry: CacheEntry): Uint8Array<ArrayBuffer> {
  const meta = encoder.encode(JSON.stringify({ h: entry.headers, s: entry.storedAt, e: entry.expiresAt, ...(entry.freshUntil !== undefined && { f: entry.freshUntil }) } satisfies Meta))
  const out = new Uint8Array(HEADER_BYTES + meta.byteLength + entry.body.byteLength)
  out[0] = VERSION
  new DataView(out.buffer).setUint32(1, meta.byteLength)
  out.set(meta, HEADER_BYTES)
  out.set(entry.body, HEADER_BYTES + meta.byteLength)
  return out
}

/** The entry, or `undefined` for bytes this version did not write (treated as a miss). */
export function decodeEntry(bytes: Uint8Array): CacheEntry | undefined {
  if (bytes.byteLength < HEADER_BYTES || bytes[0] !== VERSION) return undefined
  const metaLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1)
  if (HEADER_BYTES + metaLength > bytes.byteLength) return undefined
  let meta: Meta
  try {
    meta = JSON.parse(decoder.decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + metaLength))) as Meta
  } catch {
    return undefined
  }
  if (typeof meta !== 'object' || meta === null || typeof meta.e !== 'number' || typeof meta.s !== 'number') return undefined
  return {
    headers: meta.h ?? {},
    // A plain view (not, say, a Node Buffer) over the same memory: no copy.
    body: new Uint8Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES + metaLength, bytes.byteLength - HEADER_BYTES - metaLength),
    storedAt: meta.s,
    expiresAt: meta.e,
    ...(typeof meta.f === 'number' && { freshUntil: meta.f }),
  }
}
