import { GatewayTimeoutError } from '../errors.js'
import { withDeclaredLength } from '../http/declared-length.js'
import { pushThrough, type PushControl } from '../http/push-body.js'

/**
 * Passes `body` through, chunk for chunk (the same `Uint8Array`s, never copied), and
 * errors the stream when S3 takes longer than `idleMs` to deliver the next chunk.
 *
 * An error, not an end: a server adapter that sees the body fail destroys the
 * connection, so the client sees an aborted transfer rather than a clean-looking
 * truncated 200, and a cache that tees the body stores nothing. The S3 side is
 * cancelled at once.
 *
 * The stream is pull-through (`highWaterMark: 0`): a chunk is read from S3 only when
 * the consumer asks for one, so only S3's slowness is timed — never a slow client's —
 * and memory stays at one chunk. One timer is re-armed lazily (at most once per
 * `idleMs`, not per chunk), which keeps the cost per chunk to a clock read.
 * Cancelling the returned stream (client gone) cancels `body`.
 */
export function withIdleTimeout(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  onTimeout?: () => void,
  expectedLength?: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let finished = false
  /** When the pending read from S3 started; -1 while none is pending. */
  let readingSince = -1
  let timer: ReturnType<typeof setTimeout> | undefined
  /** Set when the body is pushed rather than read: what a stall does then. */
  let pushedTimeout: (() => void) | undefined

  function check(): void {
    timer = undefined
    if (finished || readingSince < 0) return
    const left = readingSince + idleMs - performance.now()
    if (left > 0) {
      timer = setTimeout(check, left)
      return
    }
    finished = true
    if (pushedTimeout !== undefined) return pushedTimeout()
    const error = new GatewayTimeoutError('The storage backend stalled while sending the object')
    controller.error(error)
    reader.cancel(error).catch(() => {})
    onTimeout?.()
  }

  function stopTimer(): void {
    finished = true
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  const stream = new ReadableStream<Uint8Array>(
    withDeclaredLength({
      start(c) {
        controller = c
      },
      async pull(c) {
        readingSince = performance.now()
        timer ??= setTimeout(check, idleMs)
        let result: ReadableStreamReadResult<Uint8Array>
        try {
          result = await reader.read()
        } catch (error) {
          if (finished) return
          stopTimer()
          c.error(error)
          return
        }
        readingSince = -1
        if (finished) return
        if (result.done) {
          stopTimer()
          c.close()
        } else c.enqueue(result.value)
      },
      cancel(reason) {
        stopTimer()
        return reader.cancel(reason)
      },
    }, expectedLength),
    { highWaterMark: 0 },
  )
  // Pushed (src/http/push-body.ts): the same timer, running while the sink has room and
  // waits for S3's next chunk, stopped while the sink is full (a slow client).
  pushThrough(body, stream, (sink) => {
    let inner: PushControl
    const fail = () => {
      const error = new GatewayTimeoutError('The storage backend stalled while sending the object')
      inner.cancel(error)
      sink.error(error)
      onTimeout?.()
    }
    return {
      sink: {
        write(chunk) {
          if (finished) return true
          const room = sink.write(chunk)
          readingSince = room ? performance.now() : -1
          return room
        },
        end() {
          if (finished) return
          stopTimer()
          sink.end()
        },
        error(error) {
          if (finished) return
          stopTimer()
          sink.error(error)
        },
      },
      control(control) {
        inner = control
        pushedTimeout = fail
        readingSince = performance.now()
        timer ??= setTimeout(check, idleMs)
        return {
          resume() {
            if (finished) return
            readingSince = performance.now()
            timer ??= setTimeout(check, idleMs)
            control.resume()
          },
          cancel(reason) {
            stopTimer()
            control.cancel(reason)
          },
        }
      },
    }
  })
  return stream
}
