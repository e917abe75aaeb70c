/**
 * The S3 transport on Node built on undici's dispatcher (the HTTP/1.1 client under
 * Node's own fetch, used here without fetch's layers): for the Node entry points only.
 *
 * Not wired into any entry point yet, and `undici` is a devDependency: `npm run bench`
 * measures it beside `nodeFetch` (the `undici-proxy` rows, pass-through and streaming)
 * so the faster can be kept on a quiet machine (docs/architecture.md, "S3 transport on
 * Node"). Until then the entry points use `nodeFetch`.
 *
 * Like `nodeFetch` it hands the bytes through untouched (no `Content-Encoding`
 * decoding: that is a fetch layer, not the dispatcher's) and reads nothing ahead of its
 * consumer: the body stream pauses the connection as soon as a chunk is queued and
 * resumes it on `pull`. Cancelling the body, or aborting the signal, aborts the request
 * and closes its connection.
 */
import { Agent, type Dispatcher } from 'undici'
import { setPushSource, type PushSink } from '../../http/push-body.js'

/**
 * One connection pool per origin. No timeouts of its own: the S3 client times out the
 * head (`timeoutMs`) and s3Origin a stalled body (`idleTimeout`); a paused body (a slow
 * client) must not time out here.
 */
const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 })

/**
 * `fetch(url, { method, headers, signal })` for GET/HEAD requests without a body.
 * Redirects are not followed (S3 redirects are configuration errors the proxy
 * reports as 502), and the body is never decoded.
 */
export function undiciFetch(input: string, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input)
  const method = init.method ?? 'GET'
  const signal = init.signal ?? undefined
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal))
    let request: Dispatcher.DispatchController | undefined
    let body: ReadableStreamDefaultController<Uint8Array> | undefined
    let started = false
    // The body was cancelled, or failed: late chunks and events are dropped.
    let settled = false
    /** Set when the body is pushed (src/http/push-body.ts) rather than read from its stream. */
    let sink: PushSink | undefined
    let read = false
    const onAbort = () => request?.abort(abortError(signal))
    const done = () => signal?.removeEventListener('abort', onAbort)
    signal?.addEventListener('abort', onAbort, { once: true })

    agent.dispatch(
      { origin: url.origin, path: `${url.pathname}${url.search}`, method, headers: headersObject(init.headers) },
      {
        onRequestStart(controller) {
          request = controller
          if (signal?.aborted) controller.abort(abortError(signal))
        },
        onResponseStart(controller, status, headers, statusMessage) {
          if (status < 200) return // 1xx: the final answer follows
          started = true
          const nullBody = method === 'HEAD' || status === 204 || status === 304
          const stream = nullBody
            ? null
            : new ReadableStream<Uint8Array>(
                {
                  start(streamController) {
                    body = streamController
                  },
                  pull() {
                    read = true
                    controller.resume()
                  },
                  cancel() {
                    settled = true
                    done()
                    controller.abort(new DOMException('The body was cancelled', 'AbortError'))
                  },
                },
                // No read-ahead into the queue, as in nodeFetch.
                { highWaterMark: 0 },
              )
          if (stream !== null) {
            controller.pause()
            setPushSource(stream, {
              push(into) {
                if (read || settled) return undefined
                sink = into
                controller.resume()
                return {
                  resume: () => controller.resume(),
                  cancel() {
                    if (settled) return
                    settled = true
                    done()
                    controller.abort(new DOMException('The body was cancelled', 'AbortError'))
                  },
                }
              },
            })
          }
          resolve(new Response(stream, { status, statusText: statusMessage ?? '', headers: responseHeaders(headers) }))
        },
        onResponseData(controller, chunk) {
          if (settled) return
          if (sink !== undefined) {
            if (!sink.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) controller.pause()
            return
          }
          if (body === undefined) return
          body.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          // Paused only when the chunk waits in the queue (no read pending). Paused after
          // every chunk, undici never reported a connection that closed mid-body (the
          // truncated-body test hung).
          if ((body.desiredSize ?? 0) < 0) controller.pause()
        },
        onResponseEnd() {
          done()
          if (settled) return
          settled = true
          if (sink !== undefined) sink.end()
          else body?.close()
        },
        onResponseError(_controller, error) {
          done()
          if (!started) return reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: error }))
          if (settled) return
          settled = true
          // A connection that ends before the body is complete is an error, never a clean end.
          if (sink !== undefined) sink.error(error)
          else body?.error(error)
        },
      },
    )
  })
}

function headersObject(headers: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  new Headers(headers).forEach((value, name) => {
    out[name] = value
  })
  return out
}

function responseHeaders(headers: Record<string, string | string[] | undefined>): Headers {
  const out = new Headers()
  for (const name in headers) {
    const value = headers[name]
    if (typeof value === 'string') out.append(name, value)
    else if (value !== undefined) for (const one of value) out.append(name, one)
  }
  return out
}

function abortError(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError')
}
