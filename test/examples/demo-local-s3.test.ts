/**
 * The demo's local S3 (demo/local-s3.mjs), which the tests' S3 harness stands on too:
 * s3rver behind a front that answers suffix ranges (`bytes=-5`) as S3 does. s3rver
 * alone returns the first bytes for them, which a user of the demo would blame on the proxy.
 */
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { absoluteSuffixRange, startLocalS3, suffixLength, type LocalS3 } from '../../demo/local-s3.mjs'

describe('suffix ranges, as values', () => {
  it('recognises only a single suffix range', () => {
    expect(suffixLength('bytes=-5')).toBe(5)
    expect(suffixLength('bytes=-0')).toBe(0)
    for (const other of [undefined, '', 'bytes=0-5', 'bytes=5-', 'bytes=-5,-3', 'bytes=0-0,-1', 'items=-5', 'bytes=-', 'bytes=--5']) {
      expect(suffixLength(other), String(other)).toBeUndefined()
    }
  })

  it('rewrites the last n bytes with an absolute start; unsatisfiable ones start past the end', () => {
    expect(absoluteSuffixRange(5, 23)).toBe('bytes=18-')
    expect(absoluteSuffixRange(23, 23)).toBe('bytes=0-')
    expect(absoluteSuffixRange(100, 23)).toBe('bytes=0-')
    expect(absoluteSuffixRange(0, 23)).toBe('bytes=23-')
    expect(absoluteSuffixRange(5, 0)).toBe('bytes=0-')
  })
})

describe('the local S3 over HTTP', () => {
  const body = 'Hello from Yatagarasu!\n' // 23 bytes
  let s3: LocalS3

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['public'] })
    await request('PUT', '/public/hello.txt', { 'Content-Type': 'text/plain', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body)
  })
  afterAll(() => s3?.close())

  function request(method: string, path: string, headers: Record<string, string> = {}, payload?: string) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request(`${s3.endpoint}${path}`, { method, headers }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
      })
      req.on('error', reject)
      req.end(payload)
    })
  }

  it.each([
    ['bytes=-5', 'bytes 18-22/23', 'asu!\n'],
    ['bytes=-1', 'bytes 22-22/23', '\n'],
    ['bytes=-23', 'bytes 0-22/23', body],
    ['bytes=-100', 'bytes 0-22/23', body],
    ['bytes=0-4', 'bytes 0-4/23', 'Hello'],
    ['bytes=18-', 'bytes 18-22/23', 'asu!\n'],
  ])('GET Range %s → 206 %s', async (range, contentRange, expected) => {
    const response = await request('GET', '/public/hello.txt', { Range: range })
    expect(response.status).toBe(206)
    expect(response.headers['content-range']).toBe(contentRange)
    expect(response.body).toBe(expected)
  })

  it('HEAD with a suffix range describes the same bytes', async () => {
    const response = await request('HEAD', '/public/hello.txt', { Range: 'bytes=-5' })
    expect(response.status).toBe(206)
    expect(response.headers['content-range']).toBe('bytes 18-22/23')
    expect(response.headers['content-length']).toBe('5')
  })

  it('bytes=-0 is unsatisfiable (416)', async () => {
    expect((await request('GET', '/public/hello.txt', { Range: 'bytes=-0' })).status).toBe(416)
  })

  it('a suffix range of a missing object is still a 404', async () => {
    const response = await request('GET', '/public/missing.txt', { Range: 'bytes=-5' })
    expect(response.status).toBe(404)
    expect(response.body).toContain('NoSuchKey')
  })

  it('without a Range the whole object passes through', async () => {
    const response = await request('GET', '/public/hello.txt')
    expect(response.status).toBe(200)
    expect(response.body).toBe(body)
  })
})
