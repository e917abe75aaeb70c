/**
 * The built-in credentials providers against local HTTP servers that speak each AWS
 * protocol as AWS documents it (ECS/EKS container endpoint, STS AssumeRoleWithWebIdentity,
 * EC2 IMDSv2), and end to end: the proxy signs with what the container endpoint handed
 * out, verified by the test S3's SigV4 check.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createCache, createYatagarasu, prewarmCache, silentLogger, type YatagarasuConfig } from '../../src/index.js'
import { builtInProvider, type CredentialsRuntime } from '../../src/s3/credential-providers.js'
import { startTestS3 } from '../support/test-s3.js'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

/** A local endpoint: every request recorded, answered by `answer`. */
async function endpoint(answer: (seen: Seen, res: ServerResponse) => void) {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }
      seen.push(request)
      answer(request, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  servers.push(server)
  return { url, seen }
}

const servers: http.Server[] = []
let dir: string
const readText = (path: string) => readFile(path, 'utf8')
const EXPIRATION = '2031-01-01T00:00:00Z'

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'creds-'))
})
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

describe('env provider', () => {
  it('reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN', async () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'env-secret', AWS_SESSION_TOKEN: 'env-token' }
    expect(await builtInProvider({ provider: 'env' }, { env })()).toEqual({ accessKeyId: 'AKIDENV', secretAccessKey: 'env-secret', sessionToken: 'env-token' })
    await expect(builtInProvider({ provider: 'env' }, { env: {} })()).rejects.toThrow(/AWS_ACCESS_KEY_ID/)
  })
})

describe('container provider (ECS task role, EKS Pod Identity)', () => {
  const answer = (seen: Seen, res: ServerResponse) =>
    seen.headers.authorization === 'pod-identity-token' || seen.headers.authorization === 'plain-token'
      ? json(res, 200, { AccessKeyId: 'ASIACONTAINER', SecretAccessKey: 'container-secret', Token: 'container-session', Expiration: EXPIRATION, AccountId: '123456789012' })
      : json(res, 401, { code: 'AccessDenied', message: 'bad token' })

  it('GETs AWS_CONTAINER_CREDENTIALS_FULL_URI with the token file as Authorization', async () => {
    const server = await endpoint(answer)
    const tokenFile = join(dir, 'eks-token')
    writeFileSync(tokenFile, 'pod-identity-token\n')
    const env = { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${server.url}/v1/credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'ignored' }
    const credentials = await builtInProvider({ provider: 'container' }, { env, readFile: readText })()
    expect(credentials).toEqual({ accessKeyId: 'ASIACONTAINER', secretAccessKey: 'container-secret', sessionToken: 'container-session', expiration: new Date(EXPIRATION) })
    expect(server.seen).toMatchObject([{ method: 'GET', url: '/v1/credentials', headers: { authorization: 'pod-identity-token' } }])
  })

  it('falls back to AWS_CONTAINER_AUTHORIZATION_TOKEN; a refused token is an error naming the status only', async () => {
    const server = await endpoint(answer)
    const ok = { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${server.url}/creds`, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'plain-token' }
    expect((await builtInProvider({ provider: 'container' }, { env: ok })()).accessKeyId).toBe('ASIACONTAINER')
    const wrong = { ...ok, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'wrong-token' }
    const error = await builtInProvider({ provider: 'container' }, { env: wrong })().catch((e: Error) => e)
    expect(String(error)).toMatch(/answered 401/)
    expect(String(error)).not.toContain('wrong-token')
  })

  it('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI goes to the ECS agent at 169.254.170.2', async () => {
    const server = await endpoint(answer)
    const asked: string[] = []
    // Stands in for the link-local agent: what was asked for, answered by the local server.
    const runtime: CredentialsRuntime = {
      env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/task-uuid', AWS_CONTAINER_AUTHORIZATION_TOKEN: 'plain-token' },
      fetch: (input, init) => {
        asked.push(input)
        return fetch(server.url + new URL(input).pathname, init)
      },
    }
    expect((await builtInProvider({ provider: 'container' }, runtime)()).accessKeyId).toBe('ASIACONTAINER')
    expect(asked).toEqual(['http://169.254.170.2/v2/credentials/task-uuid'])
  })

  it('refuses a plain-http full URI to any other host, without asking it', async () => {
    const asked: string[] = []
    const runtime: CredentialsRuntime = {
      env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://credentials.example.com/creds' },
      fetch: async (input) => {
        asked.push(input)
        return new Response('{}')
      },
    }
    await expect(builtInProvider({ provider: 'container' }, runtime)()).rejects.toThrow(/https, or http to a loopback/)
    expect(asked).toEqual([])
  })

  it('reads the answer bounded: an endless answer fails', async () => {
    const server = await endpoint((_seen, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(`{"AccessKeyId":"${'A'.repeat(100 * 1024)}"}`)
    })
    await expect(builtInProvider({ provider: 'container' }, { env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: server.url } })()).rejects.toThrow(/larger than/)
  })
})

describe('web_identity provider (STS AssumeRoleWithWebIdentity, EKS IRSA)', () => {
  const stsAnswer = (seen: Seen, res: ServerResponse) => {
    const form = new URLSearchParams(seen.body)
    if (form.get('WebIdentityToken') !== 'eyJ.irsa.token') {
      res.writeHead(400, { 'content-type': 'text/xml' })
      res.end(
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>bad</Message></Error><RequestId>r</RequestId></ErrorResponse>',
      )
      return
    }
    res.writeHead(200, { 'content-type': 'text/xml' })
    res.end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:default:proxy</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/proxy-role/${form.get('RoleSessionName')}</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:${form.get('RoleSessionName')}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>FwoGZXIvYXdzE&amp;token</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>
      <Expiration>${EXPIRATION}</Expiration>
      <AccessKeyId>ASIAWEBIDENTITY</AccessKeyId>
    </Credentials>
    <Provider>oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`)
  }

  it('POSTs the form with the token file to AWS_ENDPOINT_URL_STS and reads the XML', async () => {
    const sts = await endpoint(stsAnswer)
    const tokenFile = join(dir, 'irsa-token')
    writeFileSync(tokenFile, 'eyJ.irsa.token\n')
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/proxy-role', AWS_ENDPOINT_URL_STS: sts.url }
    const credentials = await builtInProvider({ provider: 'web_identity', sessionName: 'proxy-1' }, { env, readFile: readText })()
    expect(credentials).toEqual({
      accessKeyId: 'ASIAWEBIDENTITY',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      sessionToken: 'FwoGZXIvYXdzE&token',
      expiration: new Date(EXPIRATION),
    })
    expect(sts.seen).toHaveLength(1)
    const [request] = sts.seen
    expect(request).toMatchObject({ method: 'POST', url: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } })
    expect(request!.headers.authorization).toBeUndefined()
    expect(Object.fromEntries(new URLSearchParams(request!.body))).toEqual({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: 'arn:aws:iam::123456789012:role/proxy-role',
      RoleSessionName: 'proxy-1',
      WebIdentityToken: 'eyJ.irsa.token',
    })
  })

  it('role_arn from the config wins over AWS_ROLE_ARN; STS refusing is an error without the token', async () => {
    const sts = await endpoint(stsAnswer)
    const tokenFile = join(dir, 'bad-token')
    writeFileSync(tokenFile, 'not-the-token')
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::1:role/env', AWS_ENDPOINT_URL_STS: sts.url }
    const error = await builtInProvider({ provider: 'web_identity', roleArn: 'arn:aws:iam::1:role/config' }, { env, readFile: readText })().catch((e: Error) => e)
    expect(String(error)).toMatch(/answered 400/)
    expect(String(error)).not.toContain('not-the-token')
    expect(new URLSearchParams(sts.seen[0]!.body).get('RoleArn')).toBe('arn:aws:iam::1:role/config')
    expect(new URLSearchParams(sts.seen[0]!.body).get('RoleSessionName')).toBe('yatagarasu')
  })
})

describe('imds provider (EC2 IMDSv2)', () => {
  it('PUTs for a session token, then reads the role name and its credentials with it', async () => {
    const imds = await endpoint((seen, res) => {
      if (seen.method === 'PUT' && seen.url === '/latest/api/token') {
        if (seen.headers['x-aws-ec2-metadata-token-ttl-seconds'] === undefined) return void res.writeHead(400).end()
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end('AQAEAImdsSessionToken==')
      }
      if (seen.headers['x-aws-ec2-metadata-token'] !== 'AQAEAImdsSessionToken==') return void res.writeHead(401).end()
      if (seen.method === 'GET' && seen.url === '/latest/meta-data/iam/security-credentials/') return void res.writeHead(200).end('proxy-instance-role')
      if (seen.method === 'GET' && seen.url === '/latest/meta-data/iam/security-credentials/proxy-instance-role') {
        return json(res, 200, {
          Code: 'Success',
          LastUpdated: '2030-12-31T23:00:00Z',
          Type: 'AWS-HMAC',
          AccessKeyId: 'ASIAIMDS',
          SecretAccessKey: 'imds-secret',
          Token: 'imds-session',
          Expiration: EXPIRATION,
        })
      }
      res.writeHead(404).end()
    })
    const credentials = await builtInProvider({ provider: 'imds' }, { env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url } })()
    expect(credentials).toEqual({ accessKeyId: 'ASIAIMDS', secretAccessKey: 'imds-secret', sessionToken: 'imds-session', expiration: new Date(EXPIRATION) })
    expect(imds.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      'GET /latest/meta-data/iam/security-credentials/proxy-instance-role',
    ])
    expect(imds.seen[0]!.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('21600')
  })

  it('an answer whose Code is not Success is an error', async () => {
    const imds = await endpoint((seen, res) => {
      if (seen.method === 'PUT') return void res.writeHead(200).end('t')
      if (seen.url.endsWith('/')) return void res.writeHead(200).end('role')
      json(res, 200, { Code: 'AssumeRoleUnauthorizedAccess', AccessKeyId: 'A', SecretAccessKey: 'S' })
    })
    await expect(builtInProvider({ provider: 'imds' }, { env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url } })()).rejects.toThrow(/not Success/)
  })
})

describe('end to end: the proxy signs with refreshed credentials', () => {
  it('a bucket with credentials: { provider: container } reaches the test S3 with a valid signature and the session token', async () => {
    const keys = { accessKeyId: 'S3RVER', secretAccessKey: 'rotated-secret-from-the-container-endpoint', sessionToken: 'session-from-container' }
    const s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }], credentials: keys })
    try {
      await s3.put('assets', 'hello.txt', 'hello through rotated keys')
      const agent = await endpoint((_seen, res) =>
        json(res, 200, { AccessKeyId: keys.accessKeyId, SecretAccessKey: keys.secretAccessKey, Token: keys.sessionToken, Expiration: EXPIRATION }),
      )
      const handler = createYatagarasu(
        { buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3: { bucket: 'assets', region: 'us-east-1', endpoint: s3.endpoint, credentials: { provider: 'container' } } }] },
        { credentialsRuntime: { env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${agent.url}/creds` } } },
      )
      const responses = await Promise.all([1, 2, 3].map(() => handler(new Request('http://proxy.test/cdn/hello.txt'))))
      expect(await Promise.all(responses.map((r) => r.text()))).toEqual(Array(3).fill('hello through rotated keys'))
      // one fetch of the credentials for the three requests (single-flight)
      expect(agent.seen).toHaveLength(1)
      const gets = s3.requests.filter((r) => r.method === 'GET' && r.key === 'hello.txt')
      expect(gets.map((r) => r.signature)).toEqual(['valid', 'valid', 'valid'])
      expect(gets[0]!.headers['x-amz-security-token']).toBe(keys.sessionToken)
    } finally {
      await s3.close()
    }
  })

  it('redirects sign with them too: the size check (HEAD) and the presigned URL, from one fetch shared with object requests', async () => {
    const keys = { accessKeyId: 'ASIAREDIRECT', secretAccessKey: 'secret-for-presigned-urls', sessionToken: 'session-in-the-url' }
    const s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }], credentials: keys })
    try {
      await s3.put('assets', 'big.bin', new Uint8Array(4096).fill(7))
      await s3.put('assets', 'small.txt', 'below min_size')
      const agent = await endpoint((_seen, res) =>
        json(res, 200, { AccessKeyId: keys.accessKeyId, SecretAccessKey: keys.secretAccessKey, Token: keys.sessionToken, Expiration: EXPIRATION }),
      )
      const s3Config = { bucket: 'assets', region: 'us-east-1', endpoint: s3.endpoint, credentials: { provider: 'container' as const } }
      const handler = createYatagarasu(
        { buckets: [{ name: 'dl', pathPrefix: '/dl', s3: s3Config, redirect: { enabled: true, minSize: '1KB', expiresSeconds: 60 } }] },
        { credentialsRuntime: { env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${agent.url}/creds` } } },
      )
      const redirected = await handler(new Request('http://proxy.test/dl/big.bin'))
      expect(redirected.status).toBe(307)
      const location = new URL(redirected.headers.get('location')!)
      expect(location.searchParams.get('X-Amz-Credential')).toMatch(/^ASIAREDIRECT\//)
      expect(location.searchParams.get('X-Amz-Security-Token')).toBe(keys.sessionToken)
      const followed = await fetch(location)
      expect(followed.status).toBe(200)
      expect((await followed.arrayBuffer()).byteLength).toBe(4096)
      const small = await handler(new Request('http://proxy.test/dl/small.txt'))
      expect(await small.text()).toBe('below min_size')
      expect(s3.requests.map((r) => [r.method, r.key, r.presigned ?? false, r.signature])).toEqual([
        ['HEAD', 'big.bin', false, 'valid'],
        ['GET', 'big.bin', true, 'valid'],
        ['HEAD', 'small.txt', false, 'valid'],
        ['GET', 'small.txt', false, 'valid'],
      ])
      // The size check, the presigner and the object request share one set of credentials.
      expect(agent.seen).toHaveLength(1)
    } finally {
      await s3.close()
    }
  })

  it('a prewarm lists and fetches with them too (ListObjectsV2 and the object GETs)', async () => {
    const keys = { accessKeyId: 'ASIAPREWARM', secretAccessKey: 'secret-for-the-listing', sessionToken: 'session-for-the-listing' }
    const s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }], credentials: keys })
    try {
      await Promise.all(['img/a.txt', 'img/b.txt'].map((key) => s3.put('assets', key, `object ${key}`)))
      const agent = await endpoint((_seen, res) =>
        json(res, 200, { AccessKeyId: keys.accessKeyId, SecretAccessKey: keys.secretAccessKey, Token: keys.sessionToken, Expiration: EXPIRATION }),
      )
      const config: YatagarasuConfig = {
        buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3: { bucket: 'assets', region: 'us-east-1', endpoint: s3.endpoint, credentials: { provider: 'container' } }, cache: { ttl: 600 } }],
      }
      const credentialsRuntime = { env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${agent.url}/creds` } }
      const cache = createCache()
      const progress = await prewarmCache(config, cache, { bucket: 'cdn', prefix: 'img/', credentialsRuntime, logger: silentLogger })
      expect(progress).toMatchObject({ objects: 2 })
      expect(s3.requests.map((r) => [r.method, r.key ?? r.rawQuery.split('&')[0], r.signature, r.headers['x-amz-security-token']])).toEqual([
        ['GET', 'list-type=2', 'valid', keys.sessionToken],
        ['GET', 'img/a.txt', 'valid', keys.sessionToken],
        ['GET', 'img/b.txt', 'valid', keys.sessionToken],
      ])
      // One fetch for the listing and the objects; the handler then serves what was prewarmed.
      expect(agent.seen).toHaveLength(1)
      const hit = await createYatagarasu(config, { cache, credentialsRuntime })(new Request('http://proxy.test/cdn/img/a.txt'))
      expect(hit.headers.get('x-cache')).toBe('HIT')
      expect(await hit.text()).toBe('object img/a.txt')
    } finally {
      await s3.close()
    }
  })

  it('without a working provider the request is a 502 that says nothing of credentials details', async () => {
    const logged: string[] = []
    const logger = { debug() {}, info() {}, warn: (m: string, f?: unknown) => void logged.push(JSON.stringify({ m, f })), error() {} }
    const handler = createYatagarasu(
      { buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3: { bucket: 'assets', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { provider: 'env' } } }] },
      { logger, credentialsRuntime: { env: { AWS_ACCESS_KEY_ID: 'AKIDONLY' } } },
    )
    const response = await handler(new Request('http://proxy.test/cdn/x'))
    expect(response.status).toBe(502)
    expect(await response.text()).not.toMatch(/AKIDONLY|AWS_/)
    expect(logged.join('\n')).toMatch(/S3 credentials refresh failed/)
    expect(logged.join('\n')).not.toContain('AKIDONLY')
  })
})
