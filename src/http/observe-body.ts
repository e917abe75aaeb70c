import { declaredLength, withDeclaredLength } from './declared-length.js'
import { pushThrough } from './push-body.js'
/** How a response body ended. */
export type BodyOutcome = 'completed' | 'cancelled' | 'errored'

export interface BodyObserver {
  /** A chunk of `bytes` bytes was handed to the consumer. */
  onChunk?(bytes: number): void
  /** The body ended: read to the end, cancelled by the consumer (the client left), or failed. Called once. */
  onEnd(bytes: number, outcome: BodyOutcome): void
}

// RFC 9110 §6.4.1: these never carry content; `new Response(stream, { status })` refuses them.
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

/**
 * Returns a response whose body reports its bytes and its end to `observer`, without
 * buffering: each chunk is read from the original only when the consumer asks for the
 * next one, so backpressure and cancellation (which cancels the S3 transfer) pass
 * straight through. A response without a body is returned as is, its end reported at once.
 */
export function observeBody(response: Response, observer: BodyObserver): Response {
  const body = response.body
  if (body === null || NULL_BODY_STATUSES.has(response.status)) {
    observer.onEnd(0, 'completed')
    return response
  }
  const reader = body.getReader()
  let bytes = 0
  let ended = false
  const end = (outcome: BodyOutcome) => {
    if (ended) return
    ended = true
    observer.onEnd(bytes, outcome)
  }
  const stream = new ReadableStream<Uint8Array>(
    withDeclaredLength({
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>
        try {
          result = await reader.read()
        } catch (error) {
          end('errored')
          controller.error(error)
          return
        }
        if (result.done) {
          end('completed')
          controller.close()
          return
        }
        bytes += result.value.byteLength
        observer.onChunk?.(result.value.byteLength)
        controller.enqueue(result.value)
      },
      cancel(reason) {
        end('cancelled')
        return reader.cancel(reason)
      },
    }, declaredLength(response.headers)),
    { highWaterMark: 0 },
  )
  // Pushed (src/http/push-body.ts): the same reports from the pushed chunks.
  pushThrough(body, stream, (sink) => ({
    sink: {
      write(chunk) {
        bytes += chunk.byteLength
        observer.onChunk?.(chunk.byteLength)
        return sink.write(chunk)
      },
      end() {
        end('completed')
        sink.end()
      },
      error(error) {
        end('errored')
        sink.error(error)
      },
    },
    control: (control) => ({
      resume: () => control.resume(),
      cancel(reason) {
        end('cancelled')
        control.cancel(reason)
      },
    }),
  }))
  return new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers })
}
