/**
 * The one SigV4 signer (src/s3/sigv4.ts) agrees with AWS's own @smithy/signature-v4,
 * through the test S3's independent verifier, for arbitrary keys, headers, regions,
 * dates and session tokens; the day's key follows the clock across midnight. Presigned
 * URLs (query signing) agree with smithy's `presign` the same way.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeKey } from '../../src/routing/object-key.js'
import { createS3Presigner, createS3Signer } from '../../src/s3/sigv4.js'
import { parseAuthorization, verifyPresignedS3Request, verifyS3Request } from '../support/sigv4-verify.js'

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'

/** Verifies `headers` as the test S3 would for a request to `url`, at `now`. */
function verify(url: URL, method: string, headers: Headers, credentials: { accessKeyId: string; sessionToken?: string }, region: string, now: number) {
  const wire: Record<string, string> = { host: url.host }
  headers.forEach((value, name) => {
    wire[name] = value
  })
  return verifyS3Request(
    { method, rawPath: url.pathname, rawQuery: url.search.slice(1), headers: wire },
    { credentials: { ...credentials, secretAccessKey: SECRET }, regionOf: () => region, now: () => now },
  )
}

const keys = fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('a b', 'c+d', "x!'()*", '日本', '%2F', '~-._')), {
  minLength: 1,
  maxLength: 4,
})

const methods = fc.constantFrom('GET', 'HEAD')
const regions = fc.constantFrom('us-east-1', 'eu-west-1', 'ap-northeast-1')
const dates = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
const sessionTokens = fc.option(fc.constantFrom('SESSION-TOKEN', 'FwoGZXIvYXdzE//+token=='), { nil: undefined })

describe('SigV4 signing', () => {
  it('produces signatures S3 (smithy) accepts, for any key, header set, region, date and session token', async () => {
    await fc.assert(
      fc.asyncProperty(
        keys,
        methods,
        regions,
        dates,
        sessionTokens,
        fc.record(
          {
            range: fc.constantFrom('bytes=0-99', 'bytes=-5'),
            'if-none-match': fc.constantFrom('"abc"', ' "x",  "y" '),
            'if-modified-since': fc.constant('Wed, 21 Oct 2015 07:28:00 GMT'),
          },
          { requiredKeys: [] },
        ),
        async (segments, method, region, date, sessionToken, extra) => {
          const url = new URL(`http://s3.test:9000/bucket/${encodeKey(segments.join('/'))}`)
          const now = date.getTime()
          const sign = createS3Signer({ accessKey: 'AKIDEXAMPLE', secretKey: SECRET, sessionToken, region }, () => now)
          const headers = sign(method, url, new Headers(extra))
          const failure = await verify(url, method, headers, { accessKeyId: 'AKIDEXAMPLE', ...(sessionToken && { sessionToken }) }, region, now)
          expect(failure).toBeUndefined()
        },
      ),
      { numRuns: 200 },
    )
  })

  it('signs the query too, sorted (for any caller that has one)', async () => {
    const url = new URL('http://s3.test/bucket/?prefix=a%20b&list-type=2&delimiter=%2F')
    const now = Date.UTC(2026, 0, 1)
    const headers = createS3Signer({ accessKey: 'AK', secretKey: SECRET, region: 'us-east-1' }, () => now)('GET', url)
    expect(await verify(url, 'GET', headers, { accessKeyId: 'AK' }, 'us-east-1', now)).toBeUndefined()
  })

  it('leaves Range unsigned and signs host and every x-amz-* header', () => {
    const headers = createS3Signer({ accessKey: 'AK', secretKey: SECRET, region: 'us-east-1', sessionToken: 'T' })(
      'GET',
      new URL('http://s3.test/b/k'),
      new Headers({ range: 'bytes=0-1', 'if-match': '"e"' }),
    )
    expect(parseAuthorization(headers.get('authorization')!)?.signedHeaders).toEqual([
      'host',
      'if-match',
      'x-amz-content-sha256',
      'x-amz-date',
      'x-amz-security-token',
    ])
    expect(headers.get('range')).toBe('bytes=0-1')
    expect(headers.get('x-amz-content-sha256')).toBe('UNSIGNED-PAYLOAD')
  })

  it('derives a new day key when the UTC date changes', async () => {
    let now = Date.UTC(2026, 0, 1, 23, 59, 59)
    const sign = createS3Signer({ accessKey: 'AK', secretKey: SECRET, region: 'eu-west-1' }, () => now)
    const url = new URL('http://s3.test/b/k')
    const before = sign('GET', url)
    expect(await verify(url, 'GET', before, { accessKeyId: 'AK' }, 'eu-west-1', now)).toBeUndefined()
    now += 2000
    const after = sign('GET', url)
    expect(after.get('x-amz-date')).toBe('20260102T000001Z')
    expect(await verify(url, 'GET', after, { accessKeyId: 'AK' }, 'eu-west-1', now)).toBeUndefined()
  })

  it('does not change the headers it is given', () => {
    const given = new Headers({ 'if-match': '"e"' })
    createS3Signer({ accessKey: 'AK', secretKey: SECRET, region: 'us-east-1' })('GET', new URL('http://s3.test/b/k'), given)
    expect([...given.keys()]).toEqual(['if-match'])
  })
})

/** Verifies a presigned `url` as the test S3 would, at `now`. */
function verifyPresigned(url: URL, method: string, credentials: { accessKeyId: string; sessionToken?: string }, region: string, now: number, extra: Record<string, string> = {}) {
  return verifyPresignedS3Request(
    { method, rawPath: url.pathname, rawQuery: url.search.slice(1), headers: { host: url.host, ...extra } },
    { credentials: { ...credentials, secretAccessKey: SECRET }, regionOf: () => region, now: () => now },
  )
}

describe('SigV4 presigned URLs', () => {
  it('produce query signatures S3 (smithy) accepts, for any key, region, date, lifetime and session token', async () => {
    await fc.assert(
      fc.asyncProperty(
        keys,
        methods,
        regions,
        dates,
        sessionTokens,
        fc.integer({ min: 1, max: 604_800 }),
        async (segments, method, region, date, sessionToken, expires) => {
          const url = new URL(`http://s3.test:9000/bucket/${encodeKey(segments.join('/'))}`)
          const now = date.getTime()
          const presign = createS3Presigner({ accessKey: 'AKIDEXAMPLE', secretKey: SECRET, sessionToken, region }, () => now)
          const presigned = presign(method, url, expires)
          expect(presigned.pathname).toBe(url.pathname)
          // Range and conditionals are not signed: the holder of the URL may add them.
          const failure = await verifyPresigned(presigned, method, { accessKeyId: 'AKIDEXAMPLE', ...(sessionToken && { sessionToken }) }, region, now, {
            range: 'bytes=0-1',
          })
          expect(failure).toBeUndefined()
        },
      ),
      { numRuns: 200 },
    )
  })

  it('are refused once expired, for another key, another method, or with the query changed', async () => {
    const now = Date.UTC(2026, 0, 1, 12)
    const presign = createS3Presigner({ accessKey: 'AK', secretKey: SECRET, region: 'us-east-1' }, () => now)
    const url = presign('GET', new URL('http://s3.test/b/dir/file.bin'), 300)
    const credentials = { accessKeyId: 'AK' }
    expect(await verifyPresigned(url, 'GET', credentials, 'us-east-1', now + 299_000)).toBeUndefined()
    expect(await verifyPresigned(url, 'GET', credentials, 'us-east-1', now + 301_000)).toBe('Request has expired')
    expect(await verifyPresigned(url, 'HEAD', credentials, 'us-east-1', now)).toMatch(/^signature does not match/)
    const otherKey = new URL(url)
    otherKey.pathname = '/b/dir/other.bin'
    expect(await verifyPresigned(otherKey, 'GET', credentials, 'us-east-1', now)).toMatch(/^signature does not match/)
    const withQuery = new URL(url)
    withQuery.searchParams.set('response-content-type', 'text/html')
    expect(await verifyPresigned(withQuery, 'GET', credentials, 'us-east-1', now)).toMatch(/^signature does not match/)
  })

  it('replace any query the URL had, and carry only the SigV4 parameters', () => {
    const presign = createS3Presigner({ accessKey: 'AK', secretKey: SECRET, region: 'us-east-1', sessionToken: 'T' }, () => Date.UTC(2026, 0, 1))
    const url = presign('GET', new URL('http://s3.test/b/k?list-type=2&token=secret'), 60)
    expect([...url.searchParams.keys()].sort()).toEqual([
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'X-Amz-Expires',
      'X-Amz-Security-Token',
      'X-Amz-Signature',
      'X-Amz-SignedHeaders',
    ])
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AK/20260101/us-east-1/s3/aws4_request')
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60')
  })
})
