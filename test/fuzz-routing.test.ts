/**
 * Property-based fuzzing of routing and key decoding: arbitrary request paths —
 * percent-escapes (valid, invalid, overlong UTF-8, encoded slashes and dots), dot
 * segments, unicode, NUL, very long keys — through the whole handler, with S3 replaced
 * by a recording fetch. Properties: the handler never throws; the proxy itself never
 * answers 5xx; every S3 request stays inside the routed bucket and names exactly the
 * routed key; a request is either routed (one S3 request) or refused (none).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createYatagarasu, silentLogger, type YatagarasuConfig } from '../src/index.js'
import { decodeS3Key, recordingFetch } from './support/recording-fetch.js'

const ENDPOINT = 'http://s3.test'
const s3 = (bucket: string) => ({ bucket, region: 'us-east-1', endpoint: ENDPOINT, accessKey: 'AK', secretKey: 'SK' })
const config: YatagarasuConfig = {
  basePath: '/api',
  buckets: [
    { name: 'cdn', pathPrefix: '/cdn', s3: s3('cdn-bucket') },
    { name: 'nested', pathPrefix: '/a/b', s3: s3('nested-bucket') },
    { name: 'root', pathPrefix: '/', s3: s3('root-bucket') },
  ],
}
const prefixes = [
  { segments: ['cdn'], base: `${ENDPOINT}/cdn-bucket/` },
  { segments: ['a', 'b'], base: `${ENDPOINT}/nested-bucket/` },
  { segments: [], base: `${ENDPOINT}/root-bucket/` },
]

// Segments built from what attackers and odd clients send.
const segmentPiece = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  { weight: 3, arbitrary: fc.constantFrom('.', '..', '%2e', '%2E%2e', '.%2e', '%252e%252e', '%2f', '%2F', '%5c', '\\', '%00', '%ff', '%c0%ae', '%e2%80%ae', '%', '%4', '%zz', '+', ' ', '%20', '?', '#', ';', 'cdn', 'a', 'b', 'missing', 'api', '~', '%7e', '*', "'", '(', ')') },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
)
const segment = fc.array(segmentPiece, { maxLength: 4 }).map((parts) => parts.join(''))
const longSegment = fc.integer({ min: 1000, max: 1100 }).map((n) => 'k'.repeat(n))
const path = fc
  .tuple(
    fc.constantFrom('/api', '/api/cdn', '/api/a/b', '/api/a', '', '/cdn', '/API'),
    fc.array(fc.oneof({ weight: 12, arbitrary: segment }, { weight: 1, arbitrary: longSegment }), { maxLength: 6 }),
    fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  )
  .map(([head, segments, query]) => `${head}/${segments.join('/')}${query === undefined ? '' : `?${query}`}`)

/** What the proxy should have sent for `url`: the bucket base and decoded key, computed independently. */
function expectedTarget(url: URL): { base: string; key: string } | undefined {
  let segments: string[]
  try {
    segments = url.pathname.split('/').slice(1).map(decodeURIComponent)
  } catch {
    return undefined
  }
  if (segments[0] !== 'api') return undefined
  const rest = segments.slice(1)
  for (const prefix of prefixes) {
    if (prefix.segments.every((s, i) => rest[i] === s) && rest.length >= prefix.segments.length) {
      return { base: prefix.base, key: rest.slice(prefix.segments.length).join('/') }
    }
  }
  return undefined
}

describe('routing and key decoding under fuzzing', () => {
  it('found by fuzzing: under a root prefix, `//key` is the key `/key` (as `/cdn//key` is under /cdn)', async () => {
    const origin = recordingFetch()
    const handler = createYatagarasu(config, { logger: silentLogger, fetch: origin.fetch })
    await handler(new Request('http://proxy.test/api//x'))
    await handler(new Request('http://proxy.test/api/cdn//x'))
    expect(origin.calls.map((c) => c.url)).toEqual([`${ENDPOINT}/root-bucket//x`, `${ENDPOINT}/cdn-bucket//x`])
  })

  it('never throws, never 5xx, never leaves the routed bucket (40,000 paths)', async () => {
    const origin = recordingFetch()
    const handler = createYatagarasu(config, { logger: silentLogger, fetch: origin.fetch })
    let routed = 0
    await fc.assert(
      fc.asyncProperty(path, fc.constantFrom('GET', 'HEAD', 'GET', 'OPTIONS', 'DELETE'), fc.boolean(), async (rawPath, method, withRaw) => {
        origin.calls.length = 0
        let request: Request
        try {
          request = new Request(`http://proxy.test${rawPath}`, { method })
        } catch {
          return // not a URL any client could send
        }
        const response = await handler(request, withRaw ? { rawPath } : {})
        expect(response.status).toBeLessThan(500)
        await response.body?.cancel()
        if (origin.calls.length === 0) {
          expect([200, 204, 400, 404, 405]).toContain(response.status)
          return
        }
        routed++
        expect(origin.calls).toHaveLength(1)
        const call = origin.calls[0]!
        expect(call.method).toBe(method)
        expect(call.url).not.toContain('?')
        const target = expectedTarget(new URL(request.url))
        expect(target).toBeDefined()
        expect(call.url.startsWith(target!.base)).toBe(true)
        const key = decodeS3Key(call.url.slice(target!.base.length))
        expect(key).toBe(target!.key)
        // What reached S3 is a key S3 and every decoder agree on.
        expect(key).not.toBe('')
        expect(key.split('/')).not.toContain('..')
        expect(key.split('/')).not.toContain('.')
        expect(key).not.toContain('\0')
        expect(new TextEncoder().encode(key).byteLength).toBeLessThanOrEqual(1024)
      }),
      { numRuns: 40_000 },
    )
    expect(routed).toBeGreaterThan(3_000) // the generator reaches S3 often enough to mean something
  }, 120_000)
})
