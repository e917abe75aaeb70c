/**
 * Reads the key type out of an SPKI PEM without importing it. Importing is async (Web
 * Crypto) and `createYatagarasu` is synchronous; this lets a key that can't serve the
 * configured algorithms be a `ConfigError` at creation rather than a 401 per request.
 */

export interface SpkiInfo {
  kty: 'RSA' | 'EC' | 'OKP'
  crv?: string
  /** RSA modulus length; jose refuses RSA keys under 2048 bits. */
  modulusBits?: number
}

export type SpkiProblem =
  | 'not-pem'
  | 'private-key'
  | 'pkcs1'
  | 'certificate'
  | 'malformed'
  | 'rsa-pss'
  | 'unsupported-curve'
  | 'unsupported-type'

const PEM = /^-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----\s*$/

// DER encodings (X.690 §8.19) of the algorithm OIDs of RFC 3279, RFC 4055, RFC 5480 and RFC 8410.
const OID_RSA = '2a864886f70d010101' // 1.2.840.113549.1.1.1 rsaEncryption
const OID_RSA_PSS = '2a864886f70d01010a' // 1.2.840.113549.1.1.10 id-RSASSA-PSS
const OID_EC = '2a8648ce3d0201' // 1.2.840.10045.2.1 id-ecPublicKey
const OID_ED25519 = '2b6570' // 1.3.101.112
const CURVES: Record<string, string> = {
  '2a8648ce3d030107': 'P-256', // 1.2.840.10045.3.1.7
  '2b81040022': 'P-384', // 1.3.132.0.34
  '2b81040023': 'P-521', // 1.3.132.0.35
}

export function inspectSpkiPem(pem: string): SpkiInfo | SpkiProblem {
  const text = pem.trim()
  if (/^-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.test(text)) return 'private-key'
  if (text.startsWith('-----BEGIN RSA PUBLIC KEY-----')) return 'pkcs1'
  if (text.startsWith('-----BEGIN CERTIFICATE-----')) return 'certificate'
  const body = PEM.exec(text)?.[1]
  if (body === undefined) return 'not-pem'
  let der: Uint8Array
  try {
    der = Uint8Array.from(atob(body.replace(/\s+/g, '')), (c) => c.charCodeAt(0))
  } catch {
    return 'malformed'
  }
  return parseSpki(der) ?? 'malformed'
}

interface Tlv {
  tag: number
  start: number
  end: number
}

function readTlv(der: Uint8Array, offset: number, limit: number): Tlv | undefined {
  if (offset + 2 > limit) return undefined
  const tag = der[offset]!
  let length = der[offset + 1]!
  let start = offset + 2
  if (length & 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 3 || start + count > limit) return undefined
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!
    start += count
  }
  const end = start + length
  return end <= limit ? { tag, start, end } : undefined
}

function hex(der: Uint8Array, from: number, to: number): string {
  let out = ''
  for (let i = from; i < to; i++) out += der[i]!.toString(16).padStart(2, '0')
  return out
}

const SEQUENCE = 0x30
const OID = 0x06
const BIT_STRING = 0x03
const INTEGER = 0x02

// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }  (RFC 5280 §4.1)
function parseSpki(der: Uint8Array): SpkiInfo | SpkiProblem | undefined {
  const spki = readTlv(der, 0, der.length)
  if (spki?.tag !== SEQUENCE || spki.end !== der.length) return undefined
  const algorithm = readTlv(der, spki.start, spki.end)
  if (algorithm?.tag !== SEQUENCE) return undefined
  const oid = readTlv(der, algorithm.start, algorithm.end)
  if (oid?.tag !== OID) return undefined
  const keyBits = readTlv(der, algorithm.end, spki.end)
  if (keyBits?.tag !== BIT_STRING || keyBits.end !== spki.end) return undefined
  switch (hex(der, oid.start, oid.end)) {
    case OID_RSA: {
      const modulusBits = rsaModulusBits(der, keyBits)
      return modulusBits === undefined ? undefined : { kty: 'RSA', modulusBits }
    }
    case OID_RSA_PSS:
      return 'rsa-pss'
    case OID_EC: {
      const curve = readTlv(der, oid.end, algorithm.end)
      if (curve?.tag !== OID) return undefined
      const crv = CURVES[hex(der, curve.start, curve.end)]
      return crv === undefined ? 'unsupported-curve' : { kty: 'EC', crv }
    }
    case OID_ED25519:
      return { kty: 'OKP', crv: 'Ed25519' }
    default:
      return 'unsupported-type'
  }
}

// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }  (RFC 8017 §A.1.1)
function rsaModulusBits(der: Uint8Array, keyBits: Tlv): number | undefined {
  if (der[keyBits.start] !== 0) return undefined // unused-bits octet
  const key = readTlv(der, keyBits.start + 1, keyBits.end)
  if (key?.tag !== SEQUENCE) return undefined
  const modulus = readTlv(der, key.start, key.end)
  if (modulus?.tag !== INTEGER) return undefined
  let first = modulus.start
  while (first < modulus.end && der[first] === 0) first++
  if (first === modulus.end) return undefined
  return (modulus.end - first - 1) * 8 + (32 - Math.clz32(der[first]!))
}
