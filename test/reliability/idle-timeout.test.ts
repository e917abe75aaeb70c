/**
 * The idle-timeout watchdog on a fake clock (timers and `performance.now()`): S3 is timed
 * only while a chunk is awaited, a chunk just inside the limit passes, one just outside
 * errors the stream and cancels S3, and a slow consumer is never a stall.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { GatewayTimeoutError } from '../../src/errors.js'
import { withIdleTimeout } from '../../src/reliability/idle-timeout.js'

const IDLE_MS = 300

beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }))
afterEach(() => void vi.useRealTimers())

/** An S3 body whose chunks the test delivers; records a cancel. */
function s3Body() {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const state = { cancelled: undefined as unknown }
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
    },
    cancel(reason) {
      state.cancelled = reason
    },
  })
  return { body, state, send: (size: number) => controller.enqueue(new Uint8Array(size)), end: () => controller.close() }
}

type Outcome = { value?: number; done?: boolean; error?: unknown } | undefined

/** Follows a read: `result` is set once it settles. */
function track(read: Promise<ReadableStreamReadResult<Uint8Array>>): { result: Outcome } {
  const tracked: { result: Outcome } = { result: undefined }
  read.then(
    (r) => (tracked.result = r.done ? { done: true } : { value: r.value.byteLength }),
    (error: unknown) => (tracked.result = { error }),
  )
  return tracked
}

/** How a read settles once pending promise work ran, without letting fake time pass. */
async function outcome(read: Promise<ReadableStreamReadResult<Uint8Array>>): Promise<Outcome> {
  const tracked = track(read)
  await vi.advanceTimersByTimeAsync(0)
  return tracked.result
}

describe('withIdleTimeout', () => {
  it('passes chunks that each come just inside the idle time, however long the body takes in all', async () => {
    const s3 = s3Body()
    const reader = withIdleTimeout(s3.body, IDLE_MS).getReader()
    for (let i = 0; i < 10; i++) {
      const read = track(reader.read())
      await vi.advanceTimersByTimeAsync(IDLE_MS - 1)
      s3.send(100)
      await vi.advanceTimersByTimeAsync(0)
      expect(read.result).toEqual({ value: 100 })
    }
    const last = reader.read()
    s3.end()
    expect(await outcome(last)).toEqual({ done: true })
    expect(s3.state.cancelled).toBeUndefined()
  })

  it('errors the stream when the next chunk takes the idle time, and cancels S3', async () => {
    const s3 = s3Body()
    const onTimeout = vi.fn()
    const reader = withIdleTimeout(s3.body, IDLE_MS, onTimeout).getReader()
    const first = reader.read()
    s3.send(100)
    expect(await outcome(first)).toEqual({ value: 100 })
    const second = track(reader.read())
    await vi.advanceTimersByTimeAsync(IDLE_MS - 1)
    expect(second.result).toBeUndefined()
    expect(onTimeout).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(second.result?.error).toBeInstanceOf(GatewayTimeoutError)
    expect(onTimeout).toHaveBeenCalledTimes(1)
    expect(s3.state.cancelled).toBeInstanceOf(GatewayTimeoutError)
  })

  it('does not time a slow consumer: only the wait for S3 counts', async () => {
    const s3 = s3Body()
    const reader = withIdleTimeout(s3.body, IDLE_MS).getReader()
    s3.send(100)
    s3.send(100)
    s3.send(100)
    for (let i = 0; i < 3; i++) {
      expect(await outcome(reader.read())).toEqual({ value: 100 })
      await vi.advanceTimersByTimeAsync(10 * IDLE_MS) // the consumer takes its time
    }
    s3.end()
    expect(await outcome(reader.read())).toEqual({ done: true })
    expect(s3.state.cancelled).toBeUndefined()
  })

  it('a consumer that cancels cancels S3 and stops the watchdog', async () => {
    const s3 = s3Body()
    const onTimeout = vi.fn()
    const reader = withIdleTimeout(s3.body, IDLE_MS, onTimeout).getReader()
    void reader.read().catch(() => {})
    await reader.cancel('client left')
    expect(s3.state.cancelled).toBe('client left')
    await vi.advanceTimersByTimeAsync(10 * IDLE_MS)
    expect(onTimeout).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(0)
  })
})
