/**
 * Against the real test S3 (s3rver behind an independent SigV4 check), over real HTTP
 * through the Node adapter: a client's Authorization, Cookie, token headers and token
 * query parameter never reach S3, and a refused request (401/403) sends nothing to S3.
 */
import http from 'node:http'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import { createYatagarasu, type YatagarasuConfig } from '../../src/index.js'
import { HS_SECRET, memoryLogger, secretBytes, sign } from '../support/jwt-fixtures.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'

let s3: TestS3
let proxy: NodeServer
let token: string

function request(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${proxy.url}${path}`, { headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on('error', reject)
    req.end()
  })
}

beforeAll(async () => {
  s3 = await startTestS3({ buckets: [{ name: 'private-assets', region: 'eu-west-1' }] })
  const s3Config = {
    bucket: 'private-assets',
    region: 'eu-west-1',
    endpoint: s3.endpoint,
    accessKey: TEST_CREDENTIALS.accessKeyId,
    secretKey: TEST_CREDENTIALS.secretAccessKey,
  }
  const config: YatagarasuConfig = {
    buckets: [
      {
        name: 'private',
        pathPrefix: '/private',
        s3: s3Config,
        auth: {
          jwt: {
            secret: HS_SECRET,
            algorithm: 'HS256',
            tokenSources: [{ type: 'bearer' }, { type: 'header', name: 'X-Auth-Token' }, { type: 'query', name: 'token' }],
            claimsVerification: [{ claim: 'role', operator: 'in', value: ['reader', 'admin'] }],
          },
        },
      },
    ],
  }
  proxy = await serve(createYatagarasu(config, { logger: memoryLogger() }), { port: 0 })
  token = await sign({ sub: 'ada', role: 'reader' }, secretBytes(), 'HS256')
  await s3.put('private-assets', 'doc.txt', 'private words', { 'Content-Type': 'text/plain' })
}, 60_000)

afterAll(async () => {
  await proxy?.close()
  await s3?.close()
})

beforeEach(() => s3.reset())

function expectCleanS3Request() {
  expect(s3.requests).toHaveLength(1)
  const sent = s3.requests[0]!
  expect(sent.signature).toBe('valid')
  expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\//)
  expect(sent.headers.cookie).toBeUndefined()
  expect(sent.headers['x-auth-token']).toBeUndefined()
  expect(sent.rawQuery).toBe('')
  expect(sent.rawPath).toBe('/private-assets/doc.txt')
  const everything = JSON.stringify({ headers: sent.headers, rawPath: sent.rawPath, rawQuery: sent.rawQuery })
  expect(everything).not.toContain(token)
  expect(everything).not.toContain(token.split('.')[2]!)
  expect(everything).not.toContain('session=')
}

describe('credentials stay at the proxy', () => {
  it('a bearer token, with cookies and a token header alongside', async () => {
    const response = await request('/private/doc.txt', {
      Authorization: `Bearer ${token}`,
      Cookie: 'session=abc123; theme=dark',
      'X-Auth-Token': token,
    })
    expect(response.status).toBe(200)
    expect(response.body).toBe('private words')
    expectCleanS3Request()
  })

  it('a token header', async () => {
    const response = await request('/private/doc.txt', { 'X-Auth-Token': token, Cookie: 'session=abc123' })
    expect(response.status).toBe(200)
    expectCleanS3Request()
  })

  it('a query token, among other parameters and S3 sub-resource names', async () => {
    const response = await request(`/private/doc.txt?acl&token=${token}&list-type=2&x=1`)
    expect(response.status).toBe(200)
    expect(response.body).toBe('private words')
    expectCleanS3Request()
  })
})

describe('auth runs before anything reaches S3', () => {
  it('no token: 401, no S3 request', async () => {
    const response = await request('/private/doc.txt', { Cookie: 'session=abc123' })
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Bearer realm="private"')
    expect(response.body).not.toContain('private words')
    expect(s3.requests).toHaveLength(0)
  })

  it('a bad token: 401, no S3 request', async () => {
    const forged = await sign({ sub: 'mallory', role: 'admin' }, secretBytes('not-the-secret-but-long-enough-0123456789abcd'), 'HS256')
    const response = await request(`/private/doc.txt?token=${forged}`)
    expect(response.status).toBe(401)
    expect(response.body).not.toContain(forged)
    expect(s3.requests).toHaveLength(0)
  })

  it('claims that fail: 403, no S3 request', async () => {
    const guest = await sign({ sub: 'bob', role: 'guest' }, secretBytes(), 'HS256')
    const response = await request('/private/doc.txt', { Authorization: `Bearer ${guest}` })
    expect(response.status).toBe(403)
    expect(JSON.parse(response.body).error.message).toBe('claim check failed')
    expect(s3.requests).toHaveLength(0)
  })

  it('HEAD without a token: 401, no S3 request', async () => {
    const response = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${proxy.url}/private/doc.txt`, { method: 'HEAD' }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })
    expect(response).toBe(401)
    expect(s3.requests).toHaveLength(0)
  })
})
