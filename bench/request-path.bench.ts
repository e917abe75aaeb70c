/**
 * What one request costs in the core, piece by piece: routing (the route table alone
 * and the routing middleware with a Request), SigV4 signing of an S3 GET (the S3
 * client's signer and aws4fetch's AwsClient.sign for comparison), and a whole
 * pass-through request through createYatagarasu against a fetch that answers at once
 * (no network). JWT verification per request is in jwt-verify.bench.ts.
 * Run: npx vitest bench --run bench/request-path.bench.ts
 */
import { AwsClient } from 'aws4fetch'
import { bench, describe } from 'vitest'
import { compose, createYatagarasu, resolveConfig, routing, silentLogger, type Middleware } from '../src/index.js'
import { createRouteTable } from '../src/routing/route-table.js'
import { createS3Client } from '../src/s3/s3-client.js'

const s3 = { bucket: 'bench', region: 'eu-west-1', endpoint: 'http://s3.test', accessKey: 'AKIDEXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const config = resolveConfig({
  buckets: [
    { name: 'assets', pathPrefix: '/assets', s3 },
    { name: 'media', pathPrefix: '/media/v2', s3 },
    ...Array.from({ length: 20 }, (_, i) => ({ name: `b${i}`, pathPrefix: `/b${i}`, s3 })),
  ],
})
const table = createRouteTable(config)
const ok: Middleware = async () => new Response(null, { status: 204 })
const routed = compose(routing(config), ok)

describe('routing', () => {
  bench('route table: /assets/img/logo.png (22 buckets)', () => {
    table.match('/assets/img/logo.png')
  })
  bench('route table: deep key with escapes', () => {
    table.match('/media/v2/2026/11/a%20b/c%2Bd/%E6%97%A5%E6%9C%AC.mp4')
  })
  bench('routing middleware (new Request + context + match)', async () => {
    await routed(new Request('http://proxy.test/assets/img/logo.png'))
  })
})

const client = createS3Client(config.buckets[0]!.s3.targets[0]!)
const aws = new AwsClient({ accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey, service: 's3', region: s3.region, retries: 0 })
const echo = async (url: string, init: RequestInit) =>
  new Response(null, { status: 200, headers: { 'x-url': url, 'x-auth': new Headers(init.headers).get('authorization') ?? '' } })

describe('signing an S3 GET', () => {
  bench('S3 client: sign and send to a fetch that answers at once', async () => {
    await client.send({ method: 'GET', key: 'img/logo.png', headers: new Headers(), signal: new AbortController().signal }, echo)
  })
  bench('S3 client, with a Range header', async () => {
    await client.send({ method: 'GET', key: 'img/logo.png', headers: new Headers({ range: 'bytes=0-99' }), signal: new AbortController().signal }, echo)
  })
  bench('aws4fetch AwsClient.sign (builds a Request)', async () => {
    await aws.sign('http://s3.test/bench/img/logo.png', { method: 'GET' })
  })
})

const handler = createYatagarasu({ buckets: [{ name: 'assets', pathPrefix: '/assets', s3 }] }, { logger: silentLogger, fetch: echo })
const cachedBody = new Uint8Array(1024)
const cachedHandler = createYatagarasu(
  { buckets: [{ name: 'assets', pathPrefix: '/assets', s3, cache: { enabled: true } }] },
  { logger: silentLogger, fetch: async () => new Response(cachedBody, { headers: { 'content-length': '1024', etag: '"x"' } }) },
)
async function drain(response: Response) {
  if (response.status >= 400) throw new Error(`unexpected ${response.status}`)
  await response.arrayBuffer()
}
await drain(await cachedHandler(new Request('http://proxy.test/assets/a')))

describe('a whole request through createYatagarasu (no network)', () => {
  bench('pass-through GET (routing, checks, signing, response)', async () => {
    await drain(await handler(new Request('http://proxy.test/assets/img/logo.png')))
  })
  bench('cache hit, 1 KB', async () => {
    await drain(await cachedHandler(new Request('http://proxy.test/assets/a')))
  })
})
