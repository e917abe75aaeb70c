/**
 * The transformer interface without sharp: what an edge runtime's image service would
 * implement. The handler hands it the whole original, the normalized operation and the
 * bucket's limits, and answers what it returns; `lazyTransformer` loads one on first use.
 */
import { describe, expect, it } from 'vitest'
import { createYatagarasu, lazyTransformer, UnsupportedImageError, type ImageOperation, type ImageTransformer } from '../../src/index.js'

const ORIGINAL = new Uint8Array([0xff, 0xd8, 1, 2, 3, 4, 0xff, 0xd9])
const s3 = { bucket: 'b', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AKID', secretKey: 'secret' }
const config = { buckets: [{ name: 'img', pathPrefix: '/img', s3, images: { maxWidth: 1000, maxHeight: 500, maxPixels: 1234 } }] }
// An in-memory S3: every object is the same small "JPEG".
const memoryS3 = async () => new Response(ORIGINAL, { headers: { 'content-type': 'image/jpeg', 'content-length': String(ORIGINAL.byteLength), etag: '"e1"' } })

describe('a transformer of your own', () => {
  it('receives the whole original, the normalized operation and the limits; its output is answered', async () => {
    const calls: Array<{ source: Uint8Array; operation: ImageOperation; limits: unknown }> = []
    const transformer: ImageTransformer = {
      async transform(source, operation, limits) {
        calls.push({ source, operation, limits })
        return { data: new TextEncoder().encode('rendered'), format: 'webp' }
      },
    }
    const handler = createYatagarasu(config, { fetch: memoryS3, imageTransformer: transformer })
    const response = await handler(new Request('http://proxy/img/a.jpg?w=300&dpr=2&fmt=auto&grayscale', { headers: { Accept: 'image/webp' } }))
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('rendered')
    expect(response.headers.get('content-type')).toBe('image/webp')
    expect(response.headers.get('vary')).toBe('Accept')
    expect(calls).toEqual([
      {
        source: ORIGINAL,
        operation: { width: 600, fit: 'cover', format: 'webp', grayscale: true },
        limits: { maxPixels: 1234, maxWidth: 1000, maxHeight: 500 },
      },
    ])
  })

  it('its errors become the proxy answers: UnsupportedImageError is 415, anything else a 500 that reveals nothing', async () => {
    const failing = (error: Error): ImageTransformer => ({
      transform: async () => {
        throw error
      },
    })
    const logs: unknown[] = []
    const logger = { debug() {}, info() {}, warn() {}, error: (message: string, fields?: unknown) => logs.push({ message, fields }) }
    const unsupported = createYatagarasu(config, { fetch: memoryS3, imageTransformer: failing(new UnsupportedImageError('nope')), logger })
    expect((await unsupported(new Request('http://proxy/img/a.jpg?w=10'))).status).toBe(415)
    const broken = createYatagarasu(config, { fetch: memoryS3, imageTransformer: failing(new Error('service at 10.0.0.1 said no')), logger })
    const response = await broken(new Request('http://proxy/img/a.jpg?w=10'))
    expect(response.status).toBe(500)
    expect(await response.text()).not.toContain('10.0.0.1')
    expect(logs).toHaveLength(1)
  })

  it('lazyTransformer loads on the first transform only, and again after a failed load', async () => {
    let loads = 0
    let fail = true
    const transformer = lazyTransformer(async () => {
      loads++
      if (fail) throw new Error('not installed')
      return { transform: async () => ({ data: new Uint8Array([1]), format: 'png' as const }) }
    })
    const handler = createYatagarasu(config, { fetch: memoryS3, imageTransformer: transformer, logger: { debug() {}, info() {}, warn() {}, error() {} } })
    expect(loads).toBe(0)
    expect((await handler(new Request('http://proxy/img/a.jpg'))).status).toBe(200)
    expect(loads).toBe(0)
    expect((await handler(new Request('http://proxy/img/a.jpg?w=10'))).status).toBe(500)
    fail = false
    expect((await handler(new Request('http://proxy/img/a.jpg?w=10'))).status).toBe(200)
    expect((await handler(new Request('http://proxy/img/a.jpg?w=20'))).status).toBe(200)
    expect(loads).toBe(2)
  })
})
