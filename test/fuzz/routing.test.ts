/**
 * Property-based fuzzing of routing and key decoding: arbitrary request paths —
 * percent-escapes (valid, invalid, overlong UTF-8, encoded slashes and dots), dot
 * segments, unicode, NUL, very long keys — through the whole handler, with S3 replaced
 * by a recording fetch. Properties: the handler never throws; the proxy itself never
 * answers 5xx; every S3 request stays inside the routed bucket and names exactly the
 * routed key; a request is either routed (one S3 request) or refused (none). And the
 * whole class of traversal spellings — a dot segment (`.`, `..`, single, double, triple
 * encoded, mixed case) between any separators (`/`, `\`, `%2F`, `%5C`, encoded again),
 * at the start, middle or end, or a raw `\` anywhere — is a 400 before S3.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createYatagarasu, silentLogger, type YatagarasuConfig } from '../../src/index.js'
import { decodeS3Key, recordingFetch } from '../support/recording-fetch.js'

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
  { weight: 3, arbitrary: fc.constantFrom('.', '..', '%2e', '%2E%2e', '.%2e', '%2E.', '%252e%252e', '%252E.', '%2f', '%2F', '%252f', '%5c', '%5C', '%255c', '\\', '\\..\\', '%00', '%ff', '%c0%ae', '%e2%80%ae', '%', '%4', '%zz', '+', ' ', '%20', '?', '#', ';', 'cdn', 'a', 'b', 'missing', 'api', '~', '%7e', '*', "'", '(', ')') },
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
        expect(key.split(/[/\\]/)).not.toContain('..')
        expect(key.split(/[/\\]/)).not.toContain('.')
        expect(key).not.toContain('\0')
        expect(new TextEncoder().encode(key).byteLength).toBeLessThanOrEqual(1024)
      }),
      { numRuns: 40_000 },
    )
    expect(routed).toBeGreaterThan(3_000) // the generator reaches S3 often enough to mean something
  }, 120_000)

  // Built to hold a traversal, so the property needs no second implementation to judge it.
  const dotSpelling = fc.constantFrom('..', '.', '%2e%2e', '%2E%2E', '%2e.', '.%2E', '%2E.', '%2e', '%2E', '%252e%252e', '%252E.', '.%252e', '%25252e%25252E')
  const separator = fc.constantFrom('/', '\\', '%2f', '%2F', '%5c', '%5C', '%252f', '%252F', '%255c', '%255C')
  const name = fc.stringMatching(/^[A-Za-z0-9._~+-]{0,6}$/).filter((n) => !/^\.+$/.test(n))
  const head = fc.constantFrom('/api', '/api/cdn', '/api/a/b', '/api/a', '/cdn', '')
  const query = fc.option(fc.constantFrom('?x=1', '?p=../..', '?a=%2e%2e'), { nil: '' })
  const traversal = fc
    .tuple(head, fc.array(fc.tuple(name, separator), { maxLength: 3 }), dotSpelling, fc.array(fc.tuple(separator, name), { maxLength: 3 }), query)
    .map(([start, before, dot, after, q]) => `${start}/${before.map(([n, sep]) => n + sep).join('')}${dot}${after.map(([sep, n]) => sep + n).join('')}${q}`)
  const backslashed = fc
    .tuple(head, fc.array(name, { minLength: 1, maxLength: 4 }), fc.nat(), query)
    .map(([start, names, at, q]) => {
      const parts = [...names]
      const i = at % parts.length
      parts[i] = `${parts[i]!.slice(0, at % (parts[i]!.length + 1))}\\${parts[i]!.slice(at % (parts[i]!.length + 1))}`
      return `${start}/${parts.join('/')}${q}`
    })

  it('a dot segment under any separator or encoding, at any position, or a raw backslash, is 400 before S3 (20,000 paths)', async () => {
    const origin = recordingFetch()
    const handler = createYatagarasu(config, { logger: silentLogger, fetch: origin.fetch })
    await fc.assert(
      fc.asyncProperty(fc.oneof(traversal, backslashed), fc.constantFrom('GET', 'HEAD'), async (rawPath, method) => {
        origin.calls.length = 0
        const response = await handler(new Request(`http://proxy.test${rawPath}`, { method }), { rawPath })
        await response.body?.cancel()
        expect(response.status).toBe(400)
        expect(origin.calls).toHaveLength(0)
      }),
      { numRuns: 20_000 },
    )
  }, 120_000)

  it('near misses (dots inside names, encoded backslashes inside names) are routed', async () => {
    const origin = recordingFetch()
    const handler = createYatagarasu(config, { logger: silentLogger, fetch: origin.fetch })
    const nearMiss = fc.constantFrom('...', 'a..', '..a', '.a', 'a.', '%2e%2e%2e', '%2e%2ea', 'a%5cb', '%5c', '..%5d', '%2e.%2e')
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(name.filter((n) => n !== ''), nearMiss), { minLength: 1, maxLength: 4 }), async (parts) => {
        origin.calls.length = 0
        const rawPath = `/api/cdn/${parts.join('/')}`
        const response = await handler(new Request(`http://proxy.test${rawPath}`), { rawPath })
        await response.body?.cancel()
        expect(response.status).toBe(200)
        expect(origin.calls).toHaveLength(1)
      }),
      { numRuns: 2_000 },
    )
  })
})
