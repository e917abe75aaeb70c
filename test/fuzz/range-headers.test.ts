/**
 * Property-based fuzzing of Range, If-Range and the conditional headers, mixed with
 * arbitrary other headers (credentials, cookies, hop-by-hop, junk): through the whole
 * handler with S3 replaced by a recording fetch that answers like S3 would (200, 206,
 * 304, 412, 416). Properties: never a throw or a proxy 5xx; the forwarded headers are
 * exactly the range/conditional ones, byte for byte; nothing else the client sent
 * (Authorization, Cookie, tokens) reaches S3; S3's status passes through.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createYatagarasu, silentLogger } from '../../src/index.js'
import { recordingFetch } from '../support/recording-fetch.js'

const FORWARDED = ['range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since']
const SIGNING = new Set(['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'host'])

// Header values as Headers accepts them: visible ASCII and spaces, no CR/LF/NUL.
const headerValue = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'bytes=0123456789-, */"W/abcdefxyz;:.\t '.split('')), maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
)
const rangeValue = fc.oneof(
  headerValue,
  fc.tuple(fc.option(fc.nat(1e12), { nil: undefined }), fc.option(fc.nat(1e12), { nil: undefined })).map(
    ([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`,
  ),
  fc.array(fc.tuple(fc.nat(1000), fc.nat(1000)), { minLength: 1, maxLength: 5 }).map(
    (ranges) => `bytes=${ranges.map(([a, b]) => `${a}-${b}`).join(',')}`,
  ),
  fc.constantFrom('bytes=-5', 'bytes=0-', 'bytes=5-1', 'items=0-5', 'bytes=', 'bytes', '', ' bytes = 0 - 1 ', 'bytes=0-0,-1'),
)
const headerName = fc.oneof(
  fc.constantFrom(...FORWARDED, 'authorization', 'cookie', 'x-auth-token', 'x-amz-security-token', 'x-amz-date', 'connection', 'host', 'x-forwarded-for', 'accept-encoding', 'x-amz-meta-evil', 'content-md5'),
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz-'.split('')), minLength: 1, maxLength: 12 }),
)

describe('Range and conditional headers under fuzzing', () => {
  it('forwards exactly the range/conditional headers and never fails (20,000 requests)', async () => {
    const statuses = [200, 206, 304, 412, 416, 404, 403]
    let next = 0
    const origin = recordingFetch((call) => {
      const status = statuses[next++ % statuses.length]!
      const body = status === 200 || status === 206 ? 'partial' : status === 304 ? null : '<Error/>'
      return new Response(body, {
        status,
        headers: status === 206 ? { 'Content-Range': 'bytes 0-6/100' } : status === 416 ? { 'Content-Range': 'bytes */100' } : {},
      })
    })
    const handler = createYatagarasu(
      { buckets: [{ name: 'b', pathPrefix: '/b', s3: { bucket: 'bk', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' } }] },
      { logger: silentLogger, fetch: origin.fetch },
    )
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(headerName, headerValue, { maxKeys: 8 }),
        fc.option(rangeValue, { nil: undefined }),
        fc.constantFrom('GET', 'HEAD'),
        async (extra, range, method) => {
          origin.calls.length = 0
          const headers = new Headers()
          for (const [name, value] of Object.entries(extra)) {
            try {
              headers.set(name, value)
            } catch {
              // not a value Headers accepts: no client could send it
            }
          }
          if (range !== undefined) headers.set('range', range)
          // Bodies on GET/HEAD are refused by `limits`; that path is tested elsewhere.
          headers.delete('content-length')
          headers.delete('transfer-encoding')
          const expected = statuses[next % statuses.length]!
          const response = await handler(new Request('http://proxy.test/b/object.bin', { method, headers }))
          await response.body?.cancel()
          expect(response.status).toBeLessThan(500)
          if (origin.calls.length === 0) {
            // Only the request limits refuse before S3 (e.g. headers over 16 KiB).
            expect([400, 431]).toContain(response.status)
            return
          }
          expect(origin.calls).toHaveLength(1)
          expect(response.status).toBe(expected)
          const sent = origin.calls[0]!.headers
          // The proxy asks for the stored bytes, whatever the client accepts.
          expect(sent.get('accept-encoding')).toBe('identity')
          sent.forEach((value, name) => {
            if (SIGNING.has(name) || name === 'accept-encoding') return
            expect(FORWARDED).toContain(name)
            expect(value).toBe(headers.get(name))
          })
          for (const name of FORWARDED) expect(sent.get(name)).toBe(headers.get(name))
          // The client's own credentials never go to S3 (signing sets its own Authorization).
          if (headers.has('authorization')) expect(sent.get('authorization')).not.toBe(headers.get('authorization'))
          expect(sent.has('cookie')).toBe(false)
          expect(sent.has('x-auth-token')).toBe(false)
          if (headers.has('x-amz-security-token')) expect(sent.has('x-amz-security-token')).toBe(false)
        },
      ),
      { numRuns: 20_000 },
    )
  }, 120_000)
})
