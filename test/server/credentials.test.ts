/**
 * The standalone server with `s3.credentials: { provider: container }` from YAML, end to
 * end: the built CLI, a local container credentials endpoint answering as the ECS agent /
 * EKS Pod Identity agent does (GET, `Authorization` from the token file, JSON
 * `{ AccessKeyId, SecretAccessKey, Token, Expiration }`), and the SigV4-verifying test S3.
 * Requests are signed with the session the endpoint handed out; when it nears its
 * expiration, one request starts a background refresh and later requests sign with the
 * new session — checked by S3 refusing the old one once it has been rotated out.
 */
import http, { type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, startCliServer, tempDir, type CliServer } from '../support/cli.js'
import { startTestS3, type TestS3 } from '../support/test-s3.js'
import { until } from '../support/wait.js'

const session = (n: number) => ({ accessKeyId: `ASIACONTAINER${n}`, secretAccessKey: `container-secret-${n}`, sessionToken: `container-session-${n}` })
const POD_TOKEN = 'pod-identity-token-from-the-file'

let s3: TestS3
let agent: http.Server
let agentUrl: string
/** What the endpoint hands out next, and every request it received. */
const handing = { generation: 1, expiresInMs: 0 }
const agentRequests: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = []
const files = tempDir()
let server: CliServer | undefined

beforeAll(async () => {
  assertBuilt()
  s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'eu-west-1' }], credentials: session(1) })
  await s3.put('assets', 'hello.txt', 'signed with a container session', { 'Content-Type': 'text/plain' })
  agent = http.createServer((req, res) => {
    agentRequests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    if (req.headers.authorization !== POD_TOKEN) return void res.writeHead(403).end()
    const { accessKeyId, secretAccessKey, sessionToken } = session(handing.generation)
    const body = { AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey, Token: sessionToken, Expiration: new Date(Date.now() + handing.expiresInMs).toISOString() }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve))
  agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}`
}, 30_000)

afterAll(async () => {
  await server?.kill()
  await s3?.close()
  await new Promise((resolve) => agent?.close(resolve))
  files.cleanup()
})

describe('standalone server with s3.credentials: { provider: container }', () => {
  it('signs with the endpoint session (token file as Authorization), refreshes it before expiry, and /ready signs the same way', async () => {
    const config = files.write(
      'credentials.yaml',
      `buckets:
  - name: cdn
    path_prefix: /cdn
    s3:
      bucket: assets
      region: eu-west-1
      endpoint: "\${S3_ENDPOINT}"
      credentials: { provider: container }
`,
    )
    const tokenFile = files.write('pod-token', POD_TOKEN)
    // The first session expires in 4 minutes: within the 5 minutes before expiry when a refresh starts.
    handing.expiresInMs = 4 * 60_000
    server = await startCliServer(config, {
      S3_ENDPOINT: s3.endpoint,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${agentUrl}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      // Empty is unset for the providers: nothing inherited from the machine running the tests.
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
      AWS_CONTAINER_AUTHORIZATION_TOKEN: '',
    })
    const get = async () => {
      const response = await fetch(`${server!.url}/cdn/hello.txt`)
      return { status: response.status, body: await response.text() }
    }
    const tokensSeen = () => s3.requests.filter((r) => r.key === 'hello.txt').map((r) => [r.signature, r.status, r.headers['x-amz-security-token']])

    expect(await get()).toEqual({ status: 200, body: 'signed with a container session' })
    expect(agentRequests).toHaveLength(1)
    expect(agentRequests[0]).toMatchObject({ method: 'GET', url: '/v1/credentials', headers: { authorization: POD_TOKEN } })
    expect(tokensSeen()).toEqual([['valid', 200, 'container-session-1']])

    // The endpoint now hands out session 2 (an hour long); AWS honours session 1 until it expires.
    handing.generation = 2
    handing.expiresInMs = 60 * 60_000
    s3.setCredentials(session(1), session(2))
    // This request is signed at once with session 1, and starts the one background refresh.
    expect(await get()).toEqual({ status: 200, body: 'signed with a container session' })
    expect(tokensSeen()[1]).toEqual(['valid', 200, 'container-session-1'])
    await until(() => agentRequests.length === 2, 'the background refresh')
    await until(async () => (await get()).status === 200 && tokensSeen().at(-1)![2] === 'container-session-2', 'a request signed with session 2')

    // Session 1 rotated out: requests keep working, with session 2, and ask the endpoint no more.
    s3.setCredentials(session(2))
    s3.reset()
    for (let i = 0; i < 3; i++) expect(await get()).toEqual({ status: 200, body: 'signed with a container session' })
    expect(tokensSeen()).toEqual(Array(3).fill(['valid', 200, 'container-session-2']))
    expect(agentRequests).toHaveLength(2)
    expect(agentRequests.every((request) => request.headers.authorization === POD_TOKEN)).toBe(true)

    // The readiness probe signs its HEAD with the same current session.
    const ready = await fetch(`${server.url}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ready', buckets: { cdn: { ready: true } } })
    const probe = s3.requests.find((r) => r.method === 'HEAD')
    expect(probe).toMatchObject({ signature: 'valid', status: 200, key: undefined })
    expect(probe!.headers['x-amz-security-token']).toBe('container-session-2')
    // Nothing of the credentials in the server's output.
    expect(server.output()).not.toMatch(/container-secret|container-session|pod-identity-token/)
  }, 60_000)
})
