/**
 * Keys, tokens and a fake S3 for the JWT auth tests. Keys are made with jose (the same
 * library the middleware verifies with, but tokens are also hand-built where jose would
 * refuse to sign: `alg: none`, tampered payloads, algorithm confusion).
 */
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT, type JWTPayload } from 'jose'
import type { FetchFunction, Logger } from '../../src/index.js'

export const HS_SECRET = 'a-test-secret-that-is-long-enough-for-hs512-0123456789abcdefghijk'

export interface KeyPair {
  alg: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  pem: string
  jwk: Record<string, unknown>
}

export async function keyPair(alg: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { alg, privateKey, publicKey, pem: await exportSPKI(publicKey), jwk: { ...(await exportJWK(publicKey)) } }
}

/** The pair's private key, usable with another algorithm of the same key type (RS256 → PS256). */
export async function privateKeyFor(pair: KeyPair, alg: string): Promise<CryptoKey> {
  return importPKCS8(await exportPKCS8(pair.privateKey), alg)
}

export const nowSeconds = () => Math.floor(Date.now() / 1000)

export function sign(
  payload: JWTPayload,
  key: CryptoKey | Uint8Array,
  alg: string,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ ...header, alg }).sign(key)
}

export const secretBytes = (secret = HS_SECRET) => new TextEncoder().encode(secret)

export function b64url(input: string | Uint8Array): string {
  return Buffer.from(input).toString('base64url')
}

/** An unsecured JWT (RFC 7519 §6): `alg: none`, empty signature. */
export function unsecuredToken(payload: JWTPayload): string {
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}.`
}

/** Replaces a signed token's payload, keeping its header and signature. */
export function tamper(token: string, payload: JWTPayload): string {
  const [header, , signature] = token.split('.')
  return `${header}.${b64url(JSON.stringify(payload))}.${signature}`
}

export interface FakeS3 {
  fetch: FetchFunction
  calls: Array<{ url: string; headers: Headers }>
}

/** Answers every S3 request with 200 `ok` and records it. */
export function fakeS3(): FakeS3 {
  const calls: FakeS3['calls'] = []
  return {
    calls,
    fetch: async (input, init) => {
      calls.push({ url: input, headers: new Headers(init.headers) })
      return new Response('ok', { status: 200, headers: { 'Content-Type': 'text/plain', 'Content-Length': '2' } })
    },
  }
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error'
  message: string
  fields?: Record<string, unknown>
}

export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const at = (level: LogEntry['level']) => (message: string, fields?: Record<string, unknown>) => {
    entries.push({ level, message, ...(fields && { fields }) })
  }
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

export const S3 = { bucket: 'assets', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AKIDTEST', secretKey: 'S3-SECRET' }

export async function errorOf(response: Response) {
  return ((await response.json()) as { error: { status: number; code: string; message: string } }).error
}
