/**
 * Signed transform URLs: `s` is the lowercase hex HMAC-SHA256, under the bucket's
 * `signingKey`, of `PATH?QUERY` — PATH the raw request path, QUERY every other
 * parameter sorted by name as `name=value` joined by `&`. Only the site that holds the
 * key can mint transform URLs, so nobody can make the proxy render arbitrary variants.
 * Web Crypto only: runs on every runtime.
 */

/** The query parameter that carries the signature. */
export const SIGNATURE_PARAMETER = 's'

const encoder = new TextEncoder()

/**
 * The signed text for a path and its parameters (`s` left out). Values are compared
 * decoded, so `%2C` and `,` sign alike; names sort by UTF-16 code units, and repeated
 * names keep their order.
 */
export function signedText(path: string, params: URLSearchParams | Iterable<readonly [string, string]>): string {
  const pairs = [...params].filter(([name]) => name !== SIGNATURE_PARAMETER)
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `${path}?${pairs.map(([name, value]) => `${name}=${value}`).join('&')}`
}

/** Imports a signing key for HMAC-SHA256 (its UTF-8 bytes are the key). */
export function importSigningKey(key: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
}

/**
 * The `s` value for a transform URL, for the code that generates them.
 *
 * @example
 * const s = await signImageUrl(process.env.IMAGE_SIGNING_KEY!, '/img/photo.jpg', { w: '800', fmt: 'webp' })
 * const url = `/img/photo.jpg?w=800&fmt=webp&s=${s}`
 */
export async function signImageUrl(
  key: string | CryptoKey,
  path: string,
  params: URLSearchParams | Record<string, string | number>,
): Promise<string> {
  const cryptoKey = typeof key === 'string' ? await importSigningKey(key) : key
  const entries =
    params instanceof URLSearchParams ? params : Object.entries(params).map(([name, value]) => [name, String(value)] as const)
  const mac = await crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(signedText(path, entries)))
  return toHex(new Uint8Array(mac))
}

/**
 * Whether `signature` is the lowercase hex HMAC of `text`. The comparison is
 * `crypto.subtle.verify`, which compares in constant time, so the time taken tells an
 * attacker nothing about how much of a guess was right.
 */
export async function verifySignature(key: CryptoKey, text: string, signature: string | null): Promise<boolean> {
  if (signature === null) return false
  const mac = fromLowerHex(signature)
  if (mac === undefined) return false
  return crypto.subtle.verify('HMAC', key, mac, encoder.encode(text))
}

function toHex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out
}

/** 32 bytes from 64 lowercase hex digits; anything else is not a signature. */
function fromLowerHex(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[0-9a-f]{64}$/.test(text)) return undefined
  const bytes = new Uint8Array(32)
  for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16)
  return bytes
}
