/**
 * The S3 transport on Node: a fetch built on `node:http`/`node:https`, for the Node
 * entry points only (`yatagarasu/node`, the server); the core reaches S3 through
 * whatever fetch it is given.
 *
 * Node's global fetch (undici) decodes `Content-Encoding: gzip|br|deflate` bodies while
 * keeping the header and the compressed `Content-Length`, so a proxy built on it
 * corrupts pre-compressed objects (and fails on ranges of them). This one hands the
 * bytes through untouched, with backpressure: a chunk is read from the socket only
 * when the consumer asks for the next one.
 */
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'

const httpAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo' })
const httpsAgent = new https.Agent({ keepAlive: true, scheduling: 'lifo' })

/**
 * `fetch(url, { method, headers, signal })` for GET/HEAD requests without a body.
 * Redirects are not followed (S3 redirects are configuration errors the proxy
 * reports as 502), and the body is never decoded.
 */
export function nodeFetch(input: string, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input)
  const client = url.protocol === 'https:' ? https : http
  const signal = init.signal ?? undefined
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal))
    const request = client.request(url, {
      method: init.method ?? 'GET',
      headers: headersObject(init.headers),
      agent: url.protocol === 'https:' ? httpsAgent : httpAgent,
    })
    const onAbort = () => request.destroy(abortError(signal))
    signal?.addEventListener('abort', onAbort, { once: true })
    request.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort)
      reject(new TypeError('fetch failed', { cause: error }))
    })
    request.once('response', (response) => {
      const status = response.statusCode ?? 502
      const nullBody = init.method === 'HEAD' || status === 204 || status === 304
      if (nullBody) {
        response.resume()
        signal?.removeEventListener('abort', onAbort)
      } else {
        response.once('close', () => signal?.removeEventListener('abort', onAbort))
      }
      resolve(
        new Response(nullBody ? null : toWebStream(response), {
          status,
          statusText: response.statusMessage ?? '',
          headers: responseHeaders(response.rawHeaders),
        }),
      )
    })
    request.end()
  })
}

/**
 * Adapts the response to a byte stream that reads nothing ahead of its consumer: the
 * response is paused as soon as a chunk is queued and resumed on `pull`.
 * A connection that ends before the body is complete is an error, never a clean end.
 */
function toWebStream(response: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        response.on('data', (chunk: Buffer) => {
          if (settled) return // cancelled or failed: late chunks are dropped
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          if ((controller.desiredSize ?? 0) <= 0) response.pause()
        })
        response.once('end', () => {
          if (settled) return
          settled = true
          controller.close()
        })
        response.once('error', (error) => {
          if (settled) return
          settled = true
          controller.error(error)
        })
        response.once('close', () => {
          if (settled) return
          settled = true
          controller.error(new Error('The connection to S3 closed before the body was complete'))
        })
        response.pause()
      },
      pull() {
        response.resume()
      },
      cancel() {
        settled = true
        response.destroy()
      },
    },
    // No read-ahead into the queue: a chunk is taken from the response only when the
    // consumer asks for one. The socket and the paused response already hold a chunk
    // each, and the kernel's socket buffers keep the origin busy meanwhile; a queued
    // chunk on top added 64 KB per slow stream and no throughput.
    { highWaterMark: 0 },
  )
}

function headersObject(headers: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  new Headers(headers).forEach((value, name) => {
    out[name] = value
  })
  return out
}

function responseHeaders(raw: string[]): Headers {
  const headers = new Headers()
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  return headers
}

function abortError(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError')
}
