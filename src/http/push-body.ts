/**
 * A body a server adapter may move without reading its Web stream.
 *
 * An S3 body on Node passes through several pull-through `ReadableStream`s (the idle
 * timeout, then one per observer: S3 span, metrics, request log), each costing promises
 * and a read per chunk: ~10 µs per 64 KB chunk, the gap between the Node adapter and a bare
 * `node:http` pipe. A transport that can push its bytes (the Node transports) registers
 * a {@link PushSource} beside the stream it returns; each layer that wraps the stream
 * registers a source of its own over the inner one, doing on the pushed chunks what it
 * does on the pulled ones. The Node adapter, given a body that has one and that nothing
 * has read, writes the pushed chunks to the socket as a pipe does, with the same
 * backpressure and cancellation; everybody else reads the Web stream as before.
 *
 * A stream is read one way or the other, never both: the transport refuses to push once
 * its Web stream was read, and the adapter locks the Web stream it pushes for.
 */

/** Where a pushed body goes. */
export interface PushSink {
  /** The next chunk. `false`: the sink is full, stop until {@link PushControl.resume}. */
  write(chunk: Uint8Array): boolean
  /** The body is complete. */
  end(): void
  /** The body failed (never a clean end): the sink must not look complete. */
  error(error: unknown): void
}

/** The sink's hold on a pushed body. */
export interface PushControl {
  /** The sink has room again after a `write` returned `false`. */
  resume(): void
  /** The consumer went away: stop, and release the transfer (as cancelling the Web stream would). */
  cancel(reason?: unknown): void
}

export interface PushSource {
  /**
   * Starts pushing into `sink`; `undefined` when the body cannot be pushed any more (its
   * Web stream was read, or it was pushed already): read the Web stream instead.
   */
  push(sink: PushSink): PushControl | undefined
}

const sources = new WeakMap<ReadableStream<Uint8Array>, PushSource>()

/** Registers `source` as the push side of `stream` (by a transport, or by a layer over a pushable body). */
export function setPushSource(stream: ReadableStream<Uint8Array>, source: PushSource): void {
  sources.set(stream, source)
}

/** The push side of `stream`, when it has one and the stream itself is untouched. */
export function pushSourceOf(stream: ReadableStream<Uint8Array> | null): PushSource | undefined {
  if (stream === null || stream.locked) return undefined
  return sources.get(stream)
}

/**
 * Gives `outer` (a stream that wraps `inner` chunk for chunk) a push side over
 * `inner`'s, when `inner` has one: `layer` wraps the sink and the control the way the
 * outer stream's own `pull` and `cancel` treat chunks, ends and cancellations.
 */
export function pushThrough(
  inner: ReadableStream<Uint8Array>,
  outer: ReadableStream<Uint8Array>,
  layer: (sink: PushSink) => { sink: PushSink; control?: (control: PushControl) => PushControl },
): void {
  const source = sources.get(inner)
  if (source === undefined) return
  sources.set(outer, {
    push(sink) {
      const wrapped = layer(sink)
      const control = source.push(wrapped.sink)
      if (control === undefined) return undefined
      return wrapped.control ? wrapped.control(control) : control
    },
  })
}
