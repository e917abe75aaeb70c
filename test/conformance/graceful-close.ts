/**
 * A server adapter's `close()` is graceful: a download in flight when the process is
 * asked to stop (SIGTERM, which the target's server script answers with `close()`)
 * arrives whole, then the process exits.
 */
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { YatagarasuConfig } from '../../src/index.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import type { ChildServer } from '../support/child-server.js'

const SIZE = 512 * 1024

export function describeGracefulClose(name: string, start: (config: YatagarasuConfig) => Promise<ChildServer>): void {
  describe(`${name}: close() is graceful`, () => {
    let s3: TestS3
    beforeAll(async () => {
      s3 = await startTestS3({ buckets: [{ name: 'b', region: 'us-east-1' }] })
      await s3.put('b', 'slow.bin', new Uint8Array(SIZE).fill(7))
      // 32 chunks 25 ms apart: still sending, ~0.8 s, when SIGTERM arrives.
      s3.throttle('b', 'slow.bin', { chunkSize: 16 * 1024, intervalMs: 25 })
    }, 60_000)
    afterAll(() => s3?.close())

    it('a download in flight at SIGTERM arrives whole, then the server stops', async () => {
      const s3Config = { bucket: 'b', region: 'us-east-1', endpoint: s3.endpoint, accessKey: TEST_CREDENTIALS.accessKeyId, secretKey: TEST_CREDENTIALS.secretAccessKey }
      const server = await start({ buckets: [{ name: 'b', pathPrefix: '/b', s3: s3Config }] })
      const download = new Promise<{ bytes: number; complete: boolean }>((resolve, reject) => {
        http
          .get(`${server.url}/b/slow.bin`, { agent: false }, (res) => {
            let bytes = 0
            res.on('data', (chunk: Buffer) => (bytes += chunk.length))
            res.once('close', () => resolve({ bytes, complete: res.complete }))
          })
          .once('error', reject)
      })
      while (s3.requests.length === 0 || s3.requests[0]!.bytesSent === 0) await new Promise((r) => setTimeout(r, 10))
      const closed = server.close()
      expect(await download).toEqual({ bytes: SIZE, complete: true })
      await closed
      await expect(fetch(`${server.url}/b/slow.bin`)).rejects.toThrow()
    }, 30_000)
  })
}
