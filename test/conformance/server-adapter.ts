/**
 * What a server adapter (`yatagarasu/bun`, `yatagarasu/deno`) adds over passing the
 * handler straight to the runtime, checked on the real runtime:
 * - the client IP reaches the handler (the plain handler has none);
 * - `close()` is graceful: a download in flight when the process is asked to stop
 *   (SIGTERM, which the target's server script answers with `close()`) arrives whole,
 *   then the process exits.
 */
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { YatagarasuConfig } from '../../src/index.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/test-s3.js'
import { until } from '../support/wait.js'
import type { StartTarget } from './suite.js'

const SIZE = 512 * 1024

export function describeServerAdapter(runtime: string, start: (mode: 'adapter' | 'plain') => StartTarget): void {
  describe(`${runtime}: the adapter passes the client IP, the plain handler has none`, () => {
    // Only loopback may use the bucket; S3 is unreachable, so a request let through answers 502.
    const config: YatagarasuConfig = {
      buckets: [
        {
          name: 'local',
          pathPrefix: '/local',
          ipFilter: { allow: ['127.0.0.1', '::1'] },
          s3: { bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', accessKey: 'AK', secretKey: 'SK' },
        },
      ],
    }
    it.each([
      ['adapter', 502],
      ['plain', 403],
    ] as const)('%s: %d', async (mode, status) => {
      const target = await start(mode)(config)
      try {
        const response = await fetch(`${target.baseUrl}/local/k.txt`)
        expect(response.status).toBe(status)
      } finally {
        await target.close()
      }
    }, 60_000)
  })

  describe(`${runtime}: the adapter's close() is graceful`, () => {
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
      const server = await start('adapter')({ buckets: [{ name: 'b', pathPrefix: '/b', s3: s3Config }] })
      const download = new Promise<{ bytes: number; complete: boolean }>((resolve, reject) => {
        http
          .get(`${server.baseUrl}/b/slow.bin`, { agent: false }, (res) => {
            let bytes = 0
            res.on('data', (chunk: Buffer) => (bytes += chunk.length))
            res.once('close', () => resolve({ bytes, complete: res.complete }))
          })
          .once('error', reject)
      })
      await until(() => (s3.requests[0]?.bytesSent ?? 0) > 0, 'the download under way')
      const closed = server.close()
      expect(await download).toEqual({ bytes: SIZE, complete: true })
      await closed
      await expect(fetch(`${server.baseUrl}/b/slow.bin`)).rejects.toThrow()
    }, 30_000)
  })
}
