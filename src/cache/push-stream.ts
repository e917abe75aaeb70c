/**
 * A byte stream fed from outside at its reader's pace: the producer pushes a chunk and
 * waits until the reader has taken it (or gone) before pushing the next, so at most
 * one chunk waits in it. Used to hand one body to several consumers (client, stores)
 * without any of them buffering ahead.
 */
export interface PushStream {
  readonly stream: ReadableStream<Uint8Array>
  /** Queues `chunk`; resolves once the reader has room for the next one, or has cancelled. */
  push(chunk: Uint8Array): Promise<void>
  close(): void
  error(reason: Error): void
  /** False once closed, errored, or cancelled by the reader. */
  readonly open: boolean
}

export function pushStream(): PushStream {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let open = true
  let wanted: (() => void) | undefined
  const wake = () => {
    const resolve = wanted
    wanted = undefined
    resolve?.()
  }
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      pull: wake,
      cancel() {
        open = false
        wake()
      },
    },
    { highWaterMark: 1 },
  )
  return {
    stream,
    push(chunk) {
      if (!open) return Promise.resolve()
      controller.enqueue(chunk)
      if ((controller.desiredSize ?? 0) > 0) return Promise.resolve()
      return new Promise<void>((resolve) => (wanted = resolve))
    },
    close() {
      if (!open) return
      open = false
      controller.close()
      wake()
    },
    error(reason) {
      if (!open) return
      open = false
      controller.error(reason)
      wake()
    },
    get open() {
      return open
    },
  }
}
