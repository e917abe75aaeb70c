/**
 * Image transforms over real HTTP: the proxy (Node adapter, sharp transformer) in front
 * of the test S3 (s3rver behind a SigV4 verifier), with images made by sharp in the
 * test. Output dimensions, format and orientation are read back with sharp.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { serve, type NodeServer } from '../../src/adapters/node.js'
import {
  ConfigError,
  createCache,
  createYatagarasu,
  signImageUrl,
  type BucketConfig,
  type ImageTransformer,
  type YatagarasuCache,
} from '../../src/index.js'
import { sharpTransformer } from '../../src/images/sharp-transformer.js'
import { describeImage, HEIGHT, isRedAt, makeTestImages, noiseJpeg, WIDTH, type TestImages } from '../support/images.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'

const SIGNING_KEY = 'image-signing-key-for-tests-0123456789'
let s3: TestS3
let proxy: NodeServer
let cache: YatagarasuCache
let images: TestImages
let noise: Uint8Array

function bucket(name: string, extra: Partial<BucketConfig> = {}): BucketConfig {
  return {
    name,
    pathPrefix: `/${name}`,
    s3: {
      bucket: 'pictures',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      accessKey: TEST_CREDENTIALS.accessKeyId,
      secretKey: TEST_CREDENTIALS.secretAccessKey,
    },
    images: { enabled: true },
    ...extra,
  }
}

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(`${proxy.url}${path}`, { headers, method })
const s3Gets = () => s3.requests.filter((r) => r.method === 'GET')

async function image(path: string, headers: Record<string, string> = {}) {
  const response = await get(path, headers)
  expect(response.status, await peekError(response)).toBe(200)
  const data = new Uint8Array(await response.arrayBuffer())
  return { response, data, ...(await describeImage(data)) }
}

async function peekError(response: Response): Promise<string> {
  return response.status === 200 ? '' : await response.clone().text()
}

beforeAll(async () => {
  s3 = await startTestS3({ buckets: [{ name: 'pictures', region: 'us-east-1' }] })
  ;[images, noise] = await Promise.all([makeTestImages(), noiseJpeg(400, 400)])
  cache = createCache()
  const handler = createYatagarasu(
    {
      buckets: [
        bucket('img', { cache: { ttl: 600, maxSize: '64MB', maxItemSize: '8MB' } }),
        bucket('nocache'),
        bucket('plain', { images: undefined }),
        bucket('signed', { images: { signingKey: SIGNING_KEY } }),
        bucket('small-source', { images: { maxSourceSize: '64KB' } }),
        bucket('few-pixels', { images: { maxPixels: 200_000 } }),
        bucket('bounded', { images: { maxWidth: 500, maxHeight: 300 } }),
      ],
    },
    { cache, imageTransformer: sharpTransformer() },
  )
  proxy = await serve(handler, { port: 0 })
  await Promise.all([
    s3.put('pictures', 'photo.jpg', images.jpeg, { 'Content-Type': 'image/jpeg', 'Cache-Control': 'public, max-age=60' }),
    s3.put('pictures', 'photo.png', images.png, { 'Content-Type': 'image/png' }),
    s3.put('pictures', 'photo.webp', images.webp, { 'Content-Type': 'image/webp' }),
    s3.put('pictures', 'photo.avif', images.avif, { 'Content-Type': 'image/avif' }),
    s3.put('pictures', 'rotated.jpg', images.exif6, { 'Content-Type': 'image/jpeg' }),
    s3.put('pictures', 'noise.jpg', noise, { 'Content-Type': 'image/jpeg' }),
    s3.put('pictures', 'notes.txt', 'not an image', { 'Content-Type': 'text/plain' }),
    s3.put('pictures', 'broken.jpg', 'these bytes are not a JPEG', { 'Content-Type': 'image/jpeg' }),
  ])
}, 60_000)

afterAll(async () => {
  await proxy?.close()
  await s3?.close()
})

beforeEach(async () => {
  await cache.purge({ bucket: 'img' })
  s3.reset()
})

describe('transforms of real images', () => {
  it('resizes a JPEG by width, keeping the aspect ratio and the format', async () => {
    const out = await image('/img/photo.jpg?w=300')
    expect(out).toMatchObject({ format: 'jpeg', width: 300, height: 200 })
    expect(out.response.headers.get('content-type')).toBe('image/jpeg')
    expect(Number(out.response.headers.get('content-length'))).toBe(out.data.byteLength)
    expect(out.response.headers.get('cache-control')).toBe('public, max-age=60')
  })

  it('crops a PNG to a square WebP (fit=cover)', async () => {
    const out = await image('/img/photo.png?w=300&h=300&fit=cover&fmt=webp&q=70')
    expect(out).toMatchObject({ format: 'webp', width: 300, height: 300 })
    expect(out.response.headers.get('content-type')).toBe('image/webp')
  })

  it('fits inside a box, and stretches with fill', async () => {
    expect(await image('/nocache/photo.png?w=300&h=300&fit=inside')).toMatchObject({ width: 300, height: 200 })
    expect(await image('/nocache/photo.png?w=300&h=300&fit=fill')).toMatchObject({ width: 300, height: 300 })
    expect(await image('/nocache/photo.png?w=300&h=300&fit=contain&fmt=png')).toMatchObject({ width: 300, height: 300 })
  })

  it('turns a WebP into a PNG by height, and an AVIF into a JPEG', async () => {
    expect(await image('/img/photo.webp?h=100&fmt=png')).toMatchObject({ format: 'png', width: 150, height: 100 })
    const avif = await image('/img/photo.avif?w=240&fmt=jpeg')
    expect(avif).toMatchObject({ format: 'jpeg', width: 240, height: 160 })
  })

  it('reads AVIF sources and writes AVIF', async () => {
    const out = await image('/img/photo.avif?w=120')
    expect(out).toMatchObject({ format: 'heif', width: 120, height: 80 })
    expect(out.response.headers.get('content-type')).toBe('image/avif')
  })

  it('applies dpr to the requested size', async () => {
    expect(await image('/img/photo.jpg?w=150&dpr=2')).toMatchObject({ width: 300, height: 200 })
  })

  it('applies the EXIF orientation, and drops the metadata', async () => {
    const out = await image('/img/rotated.jpg?w=400')
    expect(out).toMatchObject({ format: 'jpeg', width: 400, height: 600, orientation: undefined })
    // Orientation 6 is a quarter turn clockwise: the top-left red block is now top-right.
    expect(await isRedAt(out.data, 390, 10)).toBe(true)
    expect(await isRedAt(out.data, 10, 10)).toBe(false)
  })

  it('rotates and flips', async () => {
    const rotated = await image('/img/photo.jpg?rotate=90&w=400')
    expect(rotated).toMatchObject({ width: 400, height: 600 })
    expect(await isRedAt(rotated.data, 390, 10)).toBe(true)
    const flipped = await image('/img/photo.jpg?flip=h&w=600')
    expect(flipped).toMatchObject({ width: 600, height: 400 })
    expect(await isRedAt(flipped.data, 590, 10)).toBe(true)
    expect(await isRedAt(flipped.data, 10, 10)).toBe(false)
    const upsideDown = await image('/img/photo.jpg?flip=v&w=600')
    expect(await isRedAt(upsideDown.data, 10, 390)).toBe(true)
  })

  it('blurs, sharpens and turns gray', async () => {
    const gray = await image('/img/photo.png?w=120&grayscale=1&fmt=png')
    expect(await isRedAt(gray.data, 5, 5)).toBe(false)
    expect(await image('/img/photo.jpg?w=120&blur=3')).toMatchObject({ width: 120 })
    expect(await image('/img/photo.jpg?w=120&sharpen=1.5')).toMatchObject({ width: 120 })
  })

  it('never enlarges', async () => {
    expect(await image('/img/photo.jpg?w=2400')).toMatchObject({ width: WIDTH, height: HEIGHT })
  })

  it('keeps outputs within maxWidth/maxHeight, and refuses larger sizes with 400', async () => {
    expect(await image('/bounded/photo.jpg?fmt=webp')).toMatchObject({ width: 450, height: 300 })
    expect(await image('/bounded/rotated.jpg?w=400')).toMatchObject({ width: 200, height: 300 })
    const refused = await get('/bounded/photo.jpg?w=501')
    expect(refused.status).toBe(400)
    expect((await refused.json()).error.message).toContain('parameter w')
  })
})

describe('the request around the transform', () => {
  it('sends S3 a plain GET of the object: no image parameters, no query', async () => {
    await image('/img/photo.jpg?w=300&fmt=webp&v=7', { Range: 'bytes=0-9', 'If-None-Match': '"nope"' })
    expect(s3Gets()).toHaveLength(1)
    expect(s3Gets()[0]).toMatchObject({ key: 'photo.jpg', rawQuery: '', signature: 'valid' })
    expect(s3Gets()[0]!.headers.range).toBeUndefined()
    expect(s3Gets()[0]!.headers['if-none-match']).toBeUndefined()
  })

  it('without image parameters, the object streams untouched', async () => {
    const response = await get('/img/photo.jpg?v=3')
    expect(response.status).toBe(200)
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(images.jpeg)
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/)
  })

  it('a bucket without images ignores the parameters (and never forwards them)', async () => {
    const response = await get('/plain/photo.jpg?w=10&fmt=png')
    expect(response.status).toBe(200)
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(images.jpeg)
    expect(s3Gets()[0]!.rawQuery).toBe('')
  })

  it('an invalid parameter is a 400 naming it, before S3', async () => {
    const response = await get('/img/photo.jpg?w=300&fit=squash')
    expect(response.status).toBe(400)
    const body = await response.json()
    expect(body.error.code).toBe('BadRequest')
    expect(body.error.message).toContain('parameter fit')
    expect(s3.requests).toHaveLength(0)
  })

  it('objects that are not JPEG, PNG, WebP or AVIF pass through', async () => {
    const response = await get('/nocache/notes.txt?w=10')
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('not an image')
  })

  it('an image type whose bytes are no image is 415', async () => {
    const response = await get('/nocache/broken.jpg?w=10')
    expect(response.status).toBe(415)
    expect((await response.json()).error.code).toBe('UnsupportedImage')
  })

  it('a missing object is 404', async () => {
    expect((await get('/img/missing.jpg?w=10')).status).toBe(404)
  })

  it('HEAD answers the variant headers without a body', async () => {
    const head = await get('/nocache/photo.jpg?w=300&fmt=webp', {}, 'HEAD')
    const full = await get('/nocache/photo.jpg?w=300&fmt=webp')
    const body = new Uint8Array(await full.arrayBuffer())
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toBe('image/webp')
    expect(head.headers.get('content-length')).toBe(String(body.byteLength))
    expect(head.headers.get('etag')).toBe(full.headers.get('etag'))
  })
})

describe('caching of variants', () => {
  it('caches each variant under its normalized parameters', async () => {
    const first = await image('/img/photo.jpg?w=200&dpr=2')
    expect(first.response.headers.get('x-cache')).toBe('MISS')
    const second = await image('/img/photo.jpg?dpr=2&w=200&fit=cover')
    expect(second.response.headers.get('x-cache')).toBe('HIT')
    expect(second.data).toEqual(first.data)
    const same = await image('/img/photo.jpg?w=400')
    expect(same.response.headers.get('x-cache')).toBe('HIT')
    const other = await image('/img/photo.jpg?w=401')
    expect(other.response.headers.get('x-cache')).toBe('MISS')
    // The original is its own entry.
    const original = await get('/img/photo.jpg')
    expect(original.headers.get('x-cache')).toBe('MISS')
    expect(new Uint8Array(await original.arrayBuffer())).toEqual(images.jpeg)
    expect(s3Gets()).toHaveLength(3)
  })

  it('a purge by key prefix removes the variants; a purge of the key only the original', async () => {
    await image('/img/photo.jpg?w=64')
    await (await get('/img/photo.jpg')).arrayBuffer()
    expect(await cache.purge({ bucket: 'img', key: 'photo.jpg' })).toBe(1)
    expect((await image('/img/photo.jpg?w=64')).response.headers.get('x-cache')).toBe('HIT')
    await cache.purge({ bucket: 'img', prefix: 'photo.jpg' })
    expect((await image('/img/photo.jpg?w=64')).response.headers.get('x-cache')).toBe('MISS')
  })

  it('fmt=auto picks from Accept, answers Vary: Accept, and caches per chosen format', async () => {
    const avif = await image('/img/photo.jpg?w=100&fmt=auto', { Accept: 'image/avif,image/webp,*/*' })
    expect(avif.response.headers.get('content-type')).toBe('image/avif')
    expect(avif.response.headers.get('vary')).toBe('Accept')
    const webp = await image('/img/photo.jpg?w=100&fmt=auto', { Accept: 'image/webp,*/*' })
    expect(webp).toMatchObject({ format: 'webp' })
    expect(webp.response.headers.get('x-cache')).toBe('MISS')
    const none = await image('/img/photo.jpg?w=100&fmt=auto', { Accept: '*/*' })
    expect(none).toMatchObject({ format: 'jpeg' })
    const again = await image('/img/photo.jpg?w=100&fmt=auto', { Accept: 'image/webp' })
    expect(again.response.headers.get('x-cache')).toBe('HIT')
    expect(again.response.headers.get('vary')).toBe('Accept')
    expect(again.data).toEqual(webp.data)
    // An explicit format does not depend on Accept.
    expect((await image('/img/photo.jpg?w=100&fmt=webp')).response.headers.get('vary')).toBeNull()
  })

  it('a variant ETag follows the original ETag and the parameters; If-None-Match gets 304', async () => {
    const original = await get('/nocache/photo.jpg')
    const originalEtag = original.headers.get('etag')!
    await original.arrayBuffer()
    for (const prefix of ['/img', '/nocache']) {
      const first = await get(`${prefix}/photo.jpg?w=120&fmt=webp`)
      const etag = first.headers.get('etag')!
      expect(etag).toMatch(/^W\/"[0-9a-f]{32}"$/)
      expect(etag).not.toContain(originalEtag.slice(1, -1))
      await first.arrayBuffer()
      const revalidated = await get(`${prefix}/photo.jpg?fmt=webp&w=120`, { 'If-None-Match': etag })
      expect(revalidated.status).toBe(304)
      expect(revalidated.headers.get('etag')).toBe(etag)
      const other = await get(`${prefix}/photo.jpg?w=121&fmt=webp`, { 'If-None-Match': etag })
      expect(other.status).toBe(200)
      expect(other.headers.get('etag')).not.toBe(etag)
      await other.arrayBuffer()
    }
    // The same variant of another object has another ETag.
    const png = await get('/nocache/photo.png?w=120&fmt=webp')
    const jpg = await get('/nocache/photo.jpg?w=120&fmt=webp')
    expect(png.headers.get('etag')).not.toBe(jpg.headers.get('etag'))
    await Promise.all([png.arrayBuffer(), jpg.arrayBuffer()])
  })
})

describe('limits', () => {
  it('refuses a source over maxSourceSize with 422, without reading it', async () => {
    expect(noise.byteLength).toBeGreaterThan(64 * 1024)
    const response = await get('/small-source/noise.jpg?w=100')
    expect(response.status).toBe(422)
    expect((await response.json()).error.code).toBe('ImageTooLarge')
    const [request] = s3Gets()
    const done = await request!.done
    expect(done.bytesSent).toBeLessThan(noise.byteLength)
  })

  it('refuses a source over maxPixels with 422', async () => {
    const response = await get('/few-pixels/photo.jpg?w=100')
    expect(response.status).toBe(422)
    expect((await response.json()).error.code).toBe('ImageTooLarge')
    expect(await image('/few-pixels/noise.jpg?w=100')).toMatchObject({ width: 100 })
  })

  it('signed buckets need s, the HMAC of the raw path and sorted parameters (403 otherwise)', async () => {
    const s = await signImageUrl(SIGNING_KEY, '/signed/photo.jpg', { w: 100, fmt: 'webp' })
    expect(await image(`/signed/photo.jpg?w=100&fmt=webp&s=${s}`)).toMatchObject({ format: 'webp', width: 100 })
    expect(await image(`/signed/photo.jpg?s=${s}&fmt=webp&w=100`)).toMatchObject({ format: 'webp', width: 100 })
    for (const query of ['w=100&fmt=webp', `w=101&fmt=webp&s=${s}`, `w=100&s=${s}`, `w=100&fmt=webp&s=${s.toUpperCase()}`, 'w=100&fmt=webp&s=']) {
      const response = await get(`/signed/photo.jpg?${query}`)
      expect(response.status, query).toBe(403)
      expect(await response.text()).not.toContain(SIGNING_KEY)
    }
    // Another object's signature does not transfer.
    expect((await get(`/signed/photo.png?w=100&fmt=webp&s=${s}`)).status).toBe(403)
    // The original needs no signature.
    expect((await get('/signed/photo.jpg')).status).toBe(200)
    expect(s3Gets()).toHaveLength(3)
  })

  it('beyond maxConcurrent transforms: 503 with Retry-After, nothing sent to S3', async () => {
    let entered!: () => void
    const inside = new Promise<void>((resolve) => (entered = resolve))
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const sharp = sharpTransformer()
    const gated: ImageTransformer = {
      async transform(source, operation, limits) {
        entered()
        await gate
        return sharp.transform(source, operation, limits)
      },
    }
    const handler = createYatagarasu({ buckets: [bucket('one', { images: { maxConcurrent: 1 } })] }, { imageTransformer: gated })
    const first = handler(new Request('http://proxy/one/photo.jpg?w=50'))
    await inside
    const before = s3Gets().length
    const second = await handler(new Request('http://proxy/one/photo.jpg?w=60'))
    expect(second.status).toBe(503)
    expect(second.headers.get('retry-after')).toBe('1')
    expect(s3Gets().length).toBe(before)
    open()
    expect((await first).status).toBe(200)
    // The slot is free again.
    expect((await handler(new Request('http://proxy/one/photo.jpg?w=60'))).status).toBe(200)
  })
})

describe('configuration', () => {
  it('a bucket with images needs a transformer', () => {
    expect(() => createYatagarasu({ buckets: [bucket('a')] })).toThrow(ConfigError)
    expect(() => createYatagarasu({ buckets: [bucket('a', { images: undefined }), bucket('b')] })).toThrow(/buckets\[1\]\.images: needs an image transformer/)
  })
})
