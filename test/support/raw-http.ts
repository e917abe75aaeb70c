/**
 * A plain `node:http` client for checking what a client really sees on the wire —
 * notably whether a transfer completed or was aborted (a body cut short must never
 * look like a clean end).
 */
import http from 'node:http'

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  /** The body arrived whole (`res.complete`). */
  complete: boolean
  /** The connection failed before or during the body. */
  aborted: boolean
}

export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; agent?: http.Agent; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false })
    req.once('error', reject)
    req.once('response', (res) => {
      const chunks: Buffer[] = []
      let aborted = false
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.once('aborted', () => (aborted = true))
      res.once('error', () => (aborted = true))
      res.once('close', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          complete: res.complete,
          aborted: aborted || !res.complete,
        }),
      )
    })
    req.end(options.body)
  })
}
