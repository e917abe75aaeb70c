/**
 * A pushed body (src/http/push-body.ts) through the layers that wrap an S3 body: the
 * idle timeout and the observers do on pushed chunks what they do on read ones, a
 * cancel reaches the source, and a body is read one way or the other, never both.
 * Fake clock for the timeout (timers and `performance.now()`).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { GatewayTimeoutError } from '../../src/errors.js'
import { observeBody, type BodyOutcome } from '../../src/http/observe-body.js'
import { pushSourceOf, setPushSource, type PushSink } from '../../src/http/push-body.js'
import { withIdleTimeout } from '../../src/reliability/idle-timeout.js'

const IDLE_MS = 300

beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }))
afterEach(() => void vi.useRealTimers())

/** A transport's body with a push side the test drives; its Web side pulls nothing. */
function transportBody() {
  const state = { pulled: 0, resumed: 0, cancelled: undefined as unknown, sink: undefined as PushSink | undefined }
  const body = new ReadableStream<Uint8Array>(
    {
      pull() {
        state.pulled++
      },
    },
    { highWaterMark: 0 },
  )
  setPushSource(body, {
    push(sink) {
      if (state.pulled > 0 || state.sink) return undefined
      state.sink = sink
      return {
        resume: () => void state.resumed++,
        cancel: (reason) => void (state.cancelled = reason ?? 'cancelled'),
      }
    },
  })
  return { body, state }
}

/** A sink recording what reaches it; `room` decides what write() answers. */
function recordingSink(room = true) {
  const got = { chunks: [] as number[], ended: false, error: undefined as unknown, room }
  const sink: PushSink = {
    write: (chunk) => (got.chunks.push(chunk.byteLength), got.room),
    end: () => void (got.ended = true),
    error: (error) => void (got.error = error),
  }
  return { sink, got }
}

/** The S3 body as the proxy wraps it: idle timeout, then two observers (S3 span, metrics). */
function wrapped(body: ReadableStream<Uint8Array>) {
  const reports: Array<{ who: string; bytes: number; outcome: BodyOutcome }> = []
  const chunks: number[] = []
  const stalls = { count: 0 }
  let response = new Response(withIdleTimeout(body, IDLE_MS, () => stalls.count++), { status: 200 })
  response = observeBody(response, { onChunk: (n) => chunks.push(n), onEnd: (bytes, outcome) => reports.push({ who: 'span', bytes, outcome }) })
  response = observeBody(response, { onEnd: (bytes, outcome) => reports.push({ who: 'metrics', bytes, outcome }) })
  return { response, reports, chunks, stalls }
}

describe('a pushed body through the idle timeout and the observers', () => {
  it('passes every chunk and the end through, each observer reporting the bytes once', () => {
    const { body, state } = transportBody()
    const { response, reports, chunks } = wrapped(body)
    const source = pushSourceOf(response.body)
    expect(source).toBeDefined()
    const { sink, got } = recordingSink()
    const control = source!.push(sink)
    expect(control).toBeDefined()
    state.sink!.write(new Uint8Array(10))
    state.sink!.write(new Uint8Array(20))
    state.sink!.end()
    expect(got).toMatchObject({ chunks: [10, 20], ended: true, error: undefined })
    expect(chunks).toEqual([10, 20])
    expect(reports).toEqual([
      { who: 'span', bytes: 30, outcome: 'completed' },
      { who: 'metrics', bytes: 30, outcome: 'completed' },
    ])
    expect(state.pulled).toBe(0)
  })

  it('a full sink pauses the source, resume reaches it; a cancel reaches the source and reports "cancelled"', () => {
    const { body, state } = transportBody()
    const { response, reports } = wrapped(body)
    const { sink, got } = recordingSink(false)
    const control = pushSourceOf(response.body)!.push(sink)!
    expect(state.sink!.write(new Uint8Array(5))).toBe(false)
    control.resume()
    expect(state.resumed).toBe(1)
    control.cancel()
    expect(state.cancelled).toBeDefined()
    expect(got.ended).toBe(false)
    expect(reports.map((r) => r.outcome)).toEqual(['cancelled', 'cancelled'])
  })

  it('a source that fails errors the sink and reports "errored"', () => {
    const { body, state } = transportBody()
    const { response, reports } = wrapped(body)
    const { sink, got } = recordingSink()
    pushSourceOf(response.body)!.push(sink)
    state.sink!.write(new Uint8Array(7))
    const failure = new Error('connection reset')
    state.sink!.error(failure)
    expect(got.error).toBe(failure)
    expect(reports).toEqual([
      { who: 'span', bytes: 7, outcome: 'errored' },
      { who: 'metrics', bytes: 7, outcome: 'errored' },
    ])
  })

  it('S3 silent for the idle timeout while the sink waits: a 504 error, S3 cancelled, the stall reported', () => {
    const { body, state } = transportBody()
    const { response, reports, stalls } = wrapped(body)
    const { sink, got } = recordingSink()
    pushSourceOf(response.body)!.push(sink)
    vi.advanceTimersByTime(IDLE_MS - 1)
    state.sink!.write(new Uint8Array(1)) // just inside: the clock starts again
    vi.advanceTimersByTime(IDLE_MS - 1)
    expect(got.error).toBeUndefined()
    vi.advanceTimersByTime(1)
    expect(got.error).toBeInstanceOf(GatewayTimeoutError)
    expect(state.cancelled).toBeInstanceOf(GatewayTimeoutError)
    expect(stalls.count).toBe(1)
    expect(reports.map((r) => r.outcome)).toEqual(['errored', 'errored'])
  })

  it('a full sink (a slow client) is never a stall: S3 is timed again only from resume', () => {
    const { body, state } = transportBody()
    const { response, stalls } = wrapped(body)
    const { sink, got } = recordingSink(false)
    const control = pushSourceOf(response.body)!.push(sink)!
    state.sink!.write(new Uint8Array(1)) // the sink is full from here
    vi.advanceTimersByTime(IDLE_MS * 10)
    expect(got.error).toBeUndefined()
    got.room = true
    control.resume()
    vi.advanceTimersByTime(IDLE_MS - 1)
    expect(got.error).toBeUndefined()
    vi.advanceTimersByTime(1)
    expect(got.error).toBeInstanceOf(GatewayTimeoutError)
    expect(stalls.count).toBe(1)
  })

  it('once the Web stream was read, the body is not pushed; a locked stream has no push side', async () => {
    const { body } = transportBody()
    const { response } = wrapped(body)
    const reader = response.body!.getReader()
    expect(pushSourceOf(response.body)).toBeUndefined() // locked
    // The read stays pending (the transport's Web side delivers nothing here); releasing the lock fails it.
    const pending = reader.read().catch(() => 'released')
    await vi.advanceTimersByTimeAsync(0)
    reader.releaseLock()
    expect(await pending).toBe('released')
    // Unlocked again, but read: the transport refuses to push.
    expect(pushSourceOf(response.body)?.push(recordingSink().sink)).toBeUndefined()
  })

  it('a stream nobody registered has no push side, nor does one wrapped by a layer that does not carry it', () => {
    const { body } = transportBody()
    expect(pushSourceOf(new ReadableStream())).toBeUndefined()
    expect(pushSourceOf(body.pipeThrough(new TransformStream()))).toBeUndefined()
    expect(pushSourceOf(null)).toBeUndefined()
  })
})
