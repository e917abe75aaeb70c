/**
 * What the admin API reads is bounded while it is read (issue 13 item 2 applied to the
 * admin routes): a prewarm request's JSON body, and each ListObjectsV2 page a prewarm lists.
 */
import { describe, expect, it } from 'vitest'
import { adminApi } from '../../src/admin/admin-api.js'
import { listObjects } from '../../src/admin/list-objects.js'
import { createCache } from '../../src/cache/create-cache.js'
import { resolveConfig } from '../../src/config/resolve.js'

const config = resolveConfig({
  buckets: [{ name: 'cdn', pathPrefix: '/cdn', s3: { bucket: 'assets', region: 'us-east-1', accessKey: 'AKIDEXAMPLE', secretKey: 'secret' }, cache: { ttl: 60 } }],
})

/** A body that never ends on its own, counting what was pulled from it. */
function endless(): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let pulled = 0
  let cancelled = false
  const chunk = new Uint8Array(16 * 1024).fill(0x20)
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += chunk.byteLength
      controller.enqueue(chunk)
    },
    cancel() {
      cancelled = true
    },
  })
  return { stream, pulled: () => pulled, cancelled: () => cancelled }
}

describe('admin bodies are read within a cap', () => {
  it('refuses a prewarm body past 64 KiB with a 400, cancelling it instead of holding it', async () => {
    const admin = adminApi({ token: 't', cache: createCache(), config: () => config })
    const body = endless()
    const response = await admin.fetch(
      new Request('http://proxy.test/admin/cache/prewarm', { method: 'POST', headers: { Authorization: 'Bearer t' }, body: body.stream, duplex: 'half' } as RequestInit),
    )
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/at most 65536 bytes/)
    expect(body.cancelled()).toBe(true)
    expect(body.pulled()).toBeLessThan(256 * 1024)
  })

  it('a ListObjectsV2 answer far beyond any real page is refused as it streams', async () => {
    const body = endless()
    const target = config.buckets[0]!.s3.targets[0]!
    const pages = listObjects(target, '', async () => new Response(body.stream, { status: 200 }), new AbortController().signal)
    await expect(pages.next()).rejects.toMatchObject({ code: 'RemoteDocumentTooLarge' })
    expect(body.cancelled()).toBe(true)
    expect(body.pulled()).toBeLessThan(9 * 1024 * 1024)
  })
})
