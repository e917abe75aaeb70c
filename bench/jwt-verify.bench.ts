/**
 * What JWT verification costs per request, through the jwtAuth middleware (routing +
 * token lookup + jose verify + claim rules), next to jose's bare jwtVerify and a public
 * bucket. Run: npx vitest bench --run bench/jwt-verify.bench.ts
 */
import { exportSPKI, generateKeyPair, importSPKI, jwtVerify, SignJWT } from 'jose'
import { bench, describe } from 'vitest'
import { compose, jwtAuth, resolveConfig, routing, silentLogger, type Middleware } from '../src/index.js'

const SECRET = 'a-benchmark-secret-that-is-at-least-32-bytes-long'
const s3 = { bucket: 'b', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' }
const rsa = await generateKeyPair('RS256', { extractable: true })
const rsaPem = await exportSPKI(rsa.publicKey)
const claims = { sub: 'ada', role: 'reader', iss: 'https://issuer.test', aud: 'cdn', exp: Math.floor(Date.now() / 1000) + 3600 }
const hsToken = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))
const rsToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey)

const jwtCommon = {
  issuer: 'https://issuer.test',
  audience: 'cdn',
  claimsVerification: [{ claim: 'role', operator: 'in' as const, value: ['reader', 'admin'] }],
}
const config = resolveConfig({
  buckets: [
    { name: 'public', pathPrefix: '/pub', s3 },
    { name: 'hs', pathPrefix: '/hs', s3, auth: { jwt: { ...jwtCommon, secret: SECRET, algorithm: 'HS256' } } },
    { name: 'rs', pathPrefix: '/rs', s3, auth: { jwt: { ...jwtCommon, publicKey: rsaPem, algorithm: 'RS256' } } },
  ],
})
const ok: Middleware = async () => new Response(null, { status: 204 })
const handler = compose(routing(config), jwtAuth(config, { logger: silentLogger }), ok)

async function run(path: string, token?: string) {
  const response = await handler(
    new Request(`http://proxy.test${path}`, token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } }),
  )
  if (response.status !== 204) throw new Error(`unexpected ${response.status}`)
}

async function all(count: number, task: () => Promise<void>) {
  await Promise.all(Array.from({ length: count }, task))
}

// Warm up: the first request imports the keys.
await run('/hs/a', hsToken)
await run('/rs/a', rsToken)

const hsBytes = new TextEncoder().encode(SECRET)
const hsKey = await crypto.subtle.importKey('raw', hsBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
const rsKey = await importSPKI(rsaPem, 'RS256')
const verifyOptions = { issuer: 'https://issuer.test', audience: 'cdn' }

describe('per request', () => {
  bench('public bucket, no auth (baseline: Request + routing)', () => run('/pub/a'))
  bench('HS256 through jwtAuth', () => run('/hs/a', hsToken))
  bench('RS256 through jwtAuth', () => run('/rs/a', rsToken))
  // Web Crypto runs off the main thread: concurrent requests overlap their verifications.
  bench('HS256 through jwtAuth, 8 concurrent requests', () => all(8, () => run('/hs/a', hsToken)))
  bench('RS256 through jwtAuth, 8 concurrent requests', () => all(8, () => run('/rs/a', rsToken)))
  bench('HS256 jose jwtVerify alone (imported key)', async () => {
    await jwtVerify(hsToken, hsKey, { ...verifyOptions, algorithms: ['HS256'] })
  })
  bench('HS256 jose jwtVerify alone (raw secret bytes, imported per call)', async () => {
    await jwtVerify(hsToken, hsBytes, { ...verifyOptions, algorithms: ['HS256'] })
  })
  bench('RS256 jose jwtVerify alone (imported key)', async () => {
    await jwtVerify(rsToken, rsKey, { ...verifyOptions, algorithms: ['RS256'] })
  })
})
