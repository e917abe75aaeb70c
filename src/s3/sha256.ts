/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), synchronous.
 *
 * SigV4 needs one hash and one HMAC per S3 request, of a few hundred bytes. Web
 * Crypto's are asynchronous, and on Node every call is a round trip through the
 * libuv thread pool: profiles of the pass-through path showed those round trips as
 * most of the latency the proxy adds. Here they take a few microseconds. Checked
 * against node:crypto for every length across several blocks and against AWS's
 * published SigV4 example (test/sha256.test.ts).
 */

/** The first 32 bits of the fractional parts of the cube roots of the first 64 primes (§4.2.2). */
const K = Uint32Array.from(firstPrimes(64), (p) => fractionBits(Math.cbrt(p)))
/** The first 32 bits of the fractional parts of the square roots of the first 8 primes (§5.3.3). */
const INITIAL = Uint32Array.from(firstPrimes(8), (p) => fractionBits(Math.sqrt(p)))

const BLOCK = 64

export function sha256(data: Uint8Array): Uint8Array {
  // Padding (§5.1.1): 0x80, zeros, then the length in bits as a 64-bit big-endian number.
  const blocks = Math.ceil((data.length + 9) / BLOCK)
  const padded = new Uint8Array(blocks * BLOCK)
  padded.set(data)
  padded[data.length] = 0x80
  const view = new DataView(padded.buffer)
  const bits = data.length * 8
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32))
  view.setUint32(padded.length - 4, bits >>> 0)

  const state = INITIAL.slice()
  const schedule = new Uint32Array(64)
  for (let offset = 0; offset < padded.length; offset += BLOCK) compress(state, schedule, view, offset)

  const digest = new Uint8Array(32)
  const out = new DataView(digest.buffer)
  for (let i = 0; i < 8; i++) out.setUint32(i * 4, state[i]!)
  return digest
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  const block = new Uint8Array(BLOCK)
  block.set(key.length > BLOCK ? sha256(key) : key)
  const inner = new Uint8Array(BLOCK + data.length)
  const outer = new Uint8Array(BLOCK + 32)
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = block[i]! ^ 0x36
    outer[i] = block[i]! ^ 0x5c
  }
  inner.set(data, BLOCK)
  outer.set(sha256(inner), BLOCK)
  return sha256(outer)
}

/** One 64-byte block into the running state (§6.2.2). Uint32Array stores keep every sum mod 2³². */
function compress(state: Uint32Array, w: Uint32Array, view: DataView, offset: number): void {
  for (let t = 0; t < 16; t++) w[t] = view.getUint32(offset + t * 4)
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15]!
    const y = w[t - 2]!
    const sigma0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)
    const sigma1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10)
    w[t] = w[t - 16]! + sigma0 + w[t - 7]! + sigma1
  }
  let a = state[0]!
  let b = state[1]!
  let c = state[2]!
  let d = state[3]!
  let e = state[4]!
  let f = state[5]!
  let g = state[6]!
  let h = state[7]!
  for (let t = 0; t < 64; t++) {
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  state[0] = state[0]! + a
  state[1] = state[1]! + b
  state[2] = state[2]! + c
  state[3] = state[3]! + d
  state[4] = state[4]! + e
  state[5] = state[5]! + f
  state[6] = state[6]! + g
  state[7] = state[7]! + h
}

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n))
}

function firstPrimes(count: number): number[] {
  const primes: number[] = []
  for (let n = 2; primes.length < count; n++) if (primes.every((p) => n % p !== 0)) primes.push(n)
  return primes
}

function fractionBits(x: number): number {
  return Math.floor((x - Math.floor(x)) * 2 ** 32) >>> 0
}
