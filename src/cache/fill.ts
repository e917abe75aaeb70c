/**
 * The tee between S3, the client and the cache copy on a miss.
 *
 * The client gets a stream of the very chunks S3 sends; the copy keeps references to
 * the same chunks (no byte is copied until the transfer completes, when they are
 * joined once into the entry's body). While the copy is being kept, S3 is read as fast
 * as it sends, whatever the client's pace: the bytes are held for the copy anyway
 * (bounded by `maxBytes`), and requests waiting on this fill (single-flight) are then
 * not held back by one slow client. As soon as the body turns out larger than
 * `maxBytes`, the copy is dropped and the stream falls back to plain pass-through
 * (S3 read only as the client reads, memory per stream constant again).
 *
 * Only a transfer that completes is kept: an S3 error, a body shorter or longer than
 * its `Content-Length`, or the client cancelling resolves `result` with no body.
 * A client cancel always cancels the S3 transfer at once, whatever the object's size
 * (the contract: "the S3 request is cancelled at once"); the cache copy never keeps a
 * download alive on its own.
 */
import { withDeclaredLength } from '../http/declared-length.js'
import { pushStream } from './push-stream.js'

export interface Fill {
  /** The stream to give the client. */
  readonly stream: ReadableStream<Uint8Array>
  /**
   * Resolves with the complete body when S3's transfer completes within `maxBytes`, or
   * with the reason as soon as the copy is abandoned. Never rejects.
   */
  readonly result: Promise<FillResult>
}

export type FillResult =
  | { readonly body: Uint8Array }
  | { readonly body?: undefined; readonly reason: 'too-large' | 'length-mismatch' | 'failed' | 'cancelled' }

export function fillFrom(source: ReadableStream<Uint8Array>, maxBytes: number, expectedLength?: number): Fill {
  const reader = source.getReader()
  let chunks: Uint8Array[] | undefined = []
  let copied = 0
  let settle!: (result: FillResult) => void
  const result = new Promise<FillResult>((resolve) => (settle = resolve))
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let eager = true
  let finished = false

  function abandon(reason: Extract<FillResult, { reason: string }>['reason']): void {
    if (chunks === undefined) return
    chunks = undefined
    eager = false
    settle({ reason })
  }

  function complete(): void {
    if (chunks === undefined) return
    if (expectedLength !== undefined && copied !== expectedLength) return abandon('length-mismatch')
    const joined = joinChunks(chunks, copied)
    chunks = undefined
    settle({ body: joined })
  }

  /** Keeps the chunk for the copy, or drops the copy once it outgrows `maxBytes`. */
  function keep(chunk: Uint8Array): void {
    if (chunks === undefined) return
    copied += chunk.byteLength
    if (copied > maxBytes) abandon('too-large')
    else chunks.push(chunk)
  }

  function fail(error: unknown): void {
    abandon('failed')
    if (finished) return
    finished = true
    controller.error(error)
  }

  // Moves one chunk from S3 to the client (and the copy); false once there is no more.
  async function forwardOne(): Promise<boolean> {
    const { done, value } = await reader.read()
    if (finished) return false // the client cancelled meanwhile
    if (done) {
      finished = true
      complete()
      controller.close()
      return false
    }
    keep(value)
    controller.enqueue(value)
    return true
  }

  // Reads ahead while the copy is kept; returns when the copy is dropped or S3 is done.
  async function readAhead(): Promise<void> {
    try {
      while (eager && !finished && (await forwardOne()));
    } catch (error) {
      fail(error)
    }
  }

  const stream = new ReadableStream<Uint8Array>(
    withDeclaredLength({
      start(c) {
        controller = c
        void readAhead()
      },
      async pull() {
        // While reading ahead, the read-ahead loop feeds the queue; afterwards each
        // client read pulls exactly one chunk from S3 (plain pass-through).
        if (eager || finished) return
        try {
          await forwardOne()
        } catch (error) {
          fail(error)
        }
      },
      cancel(reason) {
        finished = true
        abandon('cancelled')
        return reader.cancel(reason)
      },
    }, expectedLength),
    { highWaterMark: 0 },
  )
  return { stream, result }
}

/** The chunks as one array of `length` bytes (the chunk itself when there is only one). */
export function joinChunks(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.byteLength === length) return chunks[0]!
  const out = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/** The tee of a fill that a store writes as it arrives ({@link CacheStore.setStream}). */
export interface StoreTee {
  /** The stream to give the client. */
  readonly stream: ReadableStream<Uint8Array>
  /** The stream to give the store: the same chunks, erroring unless exactly `length` bytes arrive. */
  readonly copy: ReadableStream<Uint8Array>
  /** Errors the copy (a purge): the store discards it; the client's stream goes on. */
  abortCopy(reason: Error): void
  /** True once the copy was ended with an error here (incomplete transfer, cancel, abort): a store rejecting then is no store failure. */
  readonly incomplete: boolean
}

/**
 * The tee between S3, the client and a store that writes as it reads (disk). S3 is
 * read at the pace of the slower of the two, so at most one chunk waits for each and
 * memory per fill stays constant whatever the object's size (a `set` would need the
 * whole body). A client cancel cancels S3 at once and errors the copy, so nothing is
 * stored; a store that gives up (cancels the copy) leaves the client's stream going.
 */
export function teeToStore(source: ReadableStream<Uint8Array>, length: number): StoreTee {
  const reader = source.getReader()
  const copy = pushStream()
  let incomplete = false
  let received = 0
  let finished = false

  function fail(reason: Error): void {
    if (!copy.open) return
    incomplete = true
    copy.error(reason)
  }

  const stream = new ReadableStream<Uint8Array>(
    withDeclaredLength(
      {
        async pull(controller) {
          try {
            const { done, value } = await reader.read()
            if (finished) return // the client cancelled meanwhile
            if (done) {
              finished = true
              if (received === length) copy.close()
              else fail(new Error(`the body ended after ${received} of ${length} bytes`))
              controller.close()
              return
            }
            received += value.byteLength
            controller.enqueue(value)
            if (received > length) fail(new Error(`the body is longer than ${length} bytes`))
            // S3 is read again only once the store has taken this chunk.
            else await copy.push(value)
          } catch (error) {
            finished = true
            fail(error instanceof Error ? error : new Error('the S3 transfer failed'))
            controller.error(error)
          }
        },
        cancel(reason) {
          finished = true
          fail(new Error('the client cancelled'))
          return reader.cancel(reason)
        },
      },
      length,
    ),
    { highWaterMark: 0 },
  )
  return {
    stream,
    copy: copy.stream,
    abortCopy: fail,
    get incomplete() {
      return incomplete
    },
  }
}
