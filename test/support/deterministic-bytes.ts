/** Reproducible pseudo-random bytes (xorshift32), for objects whose every byte a test checks. */
export function deterministicBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  let x = 2463534242
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    bytes[i] = x & 255
    bytes[i + 1] = (x >>> 8) & 255
    bytes[i + 2] = (x >>> 16) & 255
    bytes[i + 3] = (x >>> 24) & 255
  }
  return bytes
}
