/**
 * The one SigV4 signer (src/s3/sigv4.ts) agrees with AWS's own @smithy/signature-v4,
 * through the test S3's independent verifier, for arbitrary keys, headers, regions,
 * dates and session tokens; the day's key follows the clock across midnight.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeKey } from '../../src/routing/object-key.js'
import { createS3Signer } from '../../src/s3/sigv4.js'
import { parseAuthorization, verifyS3Request } from '../support/sigv4-verify.js'

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

describe('SigV4 signing', () => {
  it('produces signatures S3 (smithy) accepts, for any key, header set, region, date and session token', async () => {
    await fc.assert(
      fc.asyncProperty(
        keys,
        fc.constantFrom('GET', 'HEAD'),
        fc.constantFrom('us-east-1', 'eu-west-1', 'ap-northeast-1'),
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.option(fc.constantFrom('SESSION-TOKEN', 'FwoGZXIvYXdzE//+token=='), { nil: undefined }),
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
