/**
 * An in-memory S3 for fuzzing: records every request the proxy sends and answers at
 * once — 404 for keys containing "missing", else 200 with a small body — so a fuzz
 * run measures the proxy, not the network.
 */
export interface RecordedCall {
  url: string
  method: string
  headers: Headers
}

export function recordingFetch(reply?: (call: RecordedCall) => Response) {
  const calls: RecordedCall[] = []
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const call = { url, method: init.method ?? 'GET', headers: new Headers(init.headers) }
    calls.push(call)
    if (reply) return reply(call)
    if (url.includes('missing')) return new Response('<Error><Code>NoSuchKey</Code></Error>', { status: 404 })
    return new Response(call.method === 'HEAD' ? null : 'object body', {
      status: 200,
      headers: { 'Content-Type': 'text/plain', 'Content-Length': '11', ETag: '"e"' },
    })
  }
  return { calls, fetch }
}

/** Decodes an S3 object path the way S3 does: per segment, `%XX` as UTF-8. */
export function decodeS3Key(encoded: string): string {
  return encoded.split('/').map(decodeURIComponent).join('/')
}
