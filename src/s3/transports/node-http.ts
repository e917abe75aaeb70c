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
import { setPushSource, type PushControl, type PushSink } from '../../http/push-body.js'

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
 *
 * The stream also has a push side (src/http/push-body.ts) for the Node adapter, which
 * then writes the response's chunks to its socket as a pipe does, without the stream.
 * Whichever starts first keeps the response: a stream that was read is never pushed.
 */
function toWebStream(response: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false
  let mode: 'idle' | 'read' | 'pushed' = 'idle'
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const onData = (chunk: Buffer) => {
    if (settled) return // cancelled or failed: late chunks are dropped
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    if ((controller.desiredSize ?? 0) <= 0) response.pause()
  }
  const onEnd = () => {
    if (settled) return
    settled = true
    controller.close()
  }
  const onError = (error: Error) => {
    if (settled) return
    settled = true
    controller.error(error)
  }
  const onClose = () => {
    if (settled) return
    settled = true
    controller.error(new Error('The connection to S3 closed before the body was complete'))
  }
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
        response.on('data', onData)
        response.once('end', onEnd)
        response.once('error', onError)
        response.once('close', onClose)
        response.pause()
      },
      pull() {
        mode = 'read'
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
  setPushSource(stream, {
    push(sink) {
      if (mode !== 'idle' || settled) return undefined
      mode = 'pushed'
      settled = true // the stream's own listeners step aside
      response.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
      return pushResponse(response, sink)
    },
  })
  return stream
}

/** Pushes the response's chunks into `sink`, pausing the response while the sink is full. */
function pushResponse(response: IncomingMessage, sink: PushSink): PushControl {
  let done = false
  response.on('data', (chunk: Buffer) => {
    if (done) return
    if (!sink.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) response.pause()
  })
  response.once('end', () => {
    if (done) return
    done = true
    sink.end()
  })
  response.once('error', (error) => {
    if (done) return
    done = true
    sink.error(error)
  })
  response.once('close', () => {
    if (done) return
    done = true
    sink.error(new Error('The connection to S3 closed before the body was complete'))
  })
  response.resume()
  return {
    resume: () => {
      if (!done) response.resume()
    },
    cancel: () => {
      if (done) return
      done = true
      response.destroy()
    },
  }
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
