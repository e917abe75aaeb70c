/**
 * Image transform scenarios for the runtimes that can load sharp (Node, Bun, Deno):
 * each target serves a bucket with `images` through `yatagarasu/images-sharp`, over
 * real HTTP, in front of the test S3. Edge targets have no native addons, so they are
 * not held to these (they would plug in their platform's image service instead).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { YatagarasuConfig } from '../../src/index.js'
import { describeImage, isRedAt, makeTestImages, type TestImages } from '../support/images.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import type { ConformanceLimits, ConformanceTarget, StartTarget } from './suite.js'

const BUCKET = 'conformance-images'

export function imageConformanceConfig(s3Endpoint: string): YatagarasuConfig {
  const s3 = {
    bucket: BUCKET,
    region: 'us-east-1',
    endpoint: s3Endpoint,
    accessKey: TEST_CREDENTIALS.accessKeyId,
    secretKey: TEST_CREDENTIALS.secretAccessKey,
  }
  return {
    buckets: [
      { name: 'img', pathPrefix: '/img', s3, cache: { enabled: true, ttl: 300, maxItemSize: '4MB' }, images: { enabled: true } },
      { name: 'raw', pathPrefix: '/raw', s3, images: { enabled: true } },
      { name: 'tiny', pathPrefix: '/tiny', s3, images: { enabled: true, maxPixels: 100_000 } },
    ],
  }
}

export function describeImageConformance(name: string, startTarget: StartTarget, limits: ConformanceLimits = {}): void {
  describe(`image conformance: ${name}`, () => {
    let s3: TestS3
    let target: ConformanceTarget
    let images: TestImages
    const url = (path: string) => `${target.baseUrl}${path}`

    async function image(path: string, headers: Record<string, string> = {}) {
      const response = await fetch(url(path), { headers })
      const data = new Uint8Array(await response.arrayBuffer())
      expect(response.status, new TextDecoder().decode(data.slice(0, 300))).toBe(200)
      return { response, data, ...(await describeImage(data)) }
    }

    beforeAll(async () => {
      s3 = await startTestS3({ buckets: [{ name: BUCKET, region: 'us-east-1' }] })
      images = await makeTestImages()
      await Promise.all([
        s3.put(BUCKET, 'photo.jpg', images.jpeg, { 'Content-Type': 'image/jpeg' }),
        s3.put(BUCKET, 'photo.png', images.png, { 'Content-Type': 'image/png' }),
        s3.put(BUCKET, 'photo.webp', images.webp, { 'Content-Type': 'image/webp' }),
        s3.put(BUCKET, 'photo.avif', images.avif, { 'Content-Type': 'image/avif' }),
        s3.put(BUCKET, 'rotated.jpg', images.exif6, { 'Content-Type': 'image/jpeg' }),
      ])
      target = await startTarget(imageConformanceConfig(s3.endpoint))
    }, 240_000)

    afterAll(async () => {
      await target?.close()
      await s3?.close()
    }, 30_000)

    beforeEach(() => s3.reset())

    it('resizes a JPEG; S3 gets a plain GET without the parameters', async () => {
      const out = await image('/img/photo.jpg?w=300&q=70')
      expect(out).toMatchObject({ format: 'jpeg', width: 300, height: 200 })
      expect(out.response.headers.get('content-type')).toBe('image/jpeg')
      // A cache miss tees the variant into the store as a stream, which Bun sends chunked.
      if (limits.streamedBodyWithoutContentLength) expect(out.response.headers.get('content-length')).toBeNull()
      else expect(out.response.headers.get('content-length')).toBe(String(out.data.byteLength))
      expect(s3.requests).toMatchObject([{ method: 'GET', key: 'photo.jpg', rawQuery: '', signature: 'valid' }])
    })

    it('converts PNG, WebP and AVIF sources', async () => {
      expect(await image('/img/photo.png?w=200&h=200&fit=cover&fmt=webp')).toMatchObject({ format: 'webp', width: 200, height: 200 })
      expect(await image('/img/photo.webp?h=100&fmt=png')).toMatchObject({ format: 'png', width: 150, height: 100 })
      expect(await image('/img/photo.avif?w=240&fmt=jpeg')).toMatchObject({ format: 'jpeg', width: 240, height: 160 })
      const avif = await image('/img/photo.jpg?w=90&fmt=avif')
      expect(avif).toMatchObject({ format: 'heif', width: 90, height: 60 })
      expect(avif.response.headers.get('content-type')).toBe('image/avif')
    })

    it('applies the EXIF orientation', async () => {
      const out = await image('/img/rotated.jpg?w=400')
      expect(out).toMatchObject({ width: 400, height: 600, orientation: undefined })
      expect(await isRedAt(out.data, 390, 10)).toBe(true)
    })

    it('fmt=auto follows Accept with Vary: Accept, and is cached per format', async () => {
      const webp = await image('/img/photo.jpg?w=100&fmt=auto', { Accept: 'image/webp,*/*' })
      expect(webp).toMatchObject({ format: 'webp' })
      expect(webp.response.headers.get('vary')).toBe('Accept')
      const avif = await image('/img/photo.jpg?w=100&fmt=auto', { Accept: 'image/avif,image/webp' })
      expect(avif).toMatchObject({ format: 'heif' })
      const again = await image('/img/photo.jpg?fmt=auto&w=100', { Accept: 'image/webp' })
      expect(again.response.headers.get('x-cache')).toBe('HIT')
      expect(again.data).toEqual(webp.data)
    })

    it('If-None-Match with the variant ETag is 304', async () => {
      const first = await image('/raw/photo.jpg?w=80')
      const etag = first.response.headers.get('etag')!
      expect(etag).toMatch(/^W\/"/)
      const response = await fetch(url('/raw/photo.jpg?w=80'), { headers: { 'If-None-Match': etag } })
      expect(response.status).toBe(304)
      expect(response.headers.get('etag')).toBe(etag)
    })

    it('refuses bad parameters (400) and oversized sources (422); no parameters is the untouched object', async () => {
      const bad = await fetch(url('/img/photo.jpg?w=abc'))
      expect(bad.status).toBe(400)
      expect((await bad.json()).error.message).toContain('parameter w')
      const large = await fetch(url('/tiny/photo.png?w=10'))
      expect(large.status).toBe(422)
      await large.arrayBuffer()
      const original = await fetch(url('/img/photo.png'))
      expect(new Uint8Array(await original.arrayBuffer())).toEqual(images.png)
    })
  })
}
