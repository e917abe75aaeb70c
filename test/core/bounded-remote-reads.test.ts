/**
 * Remote documents the proxy reads for itself (a JWKS, a readiness probe's answer) are
 * bounded while they are read: an endpoint streaming without Content-Length is cut at
 * the byte cap (its stream cancelled, not drained), and one deadline covers headers and
 * body, so a body trickling in fails at the deadline. Time is vitest's fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRemoteJwks, JwksUnavailableError, MAX_JWKS_BYTES } from '../../src/auth/remote-jwks.js'
import { isYatagarasuError } from '../../src/errors.js'
import { resolveConfig } from '../../src/index.js'
import { fetchBounded, readBounded, type DocumentFetch } from '../../src/net/read-bounded.js'
import { createReadiness } from '../../src/server/readiness.js'

const KiB = 1024
const GiB = 1024 * 1024 * 1024

/** A body that would send `total` bytes in `chunk`-sized pieces, counting what was pulled out of it. */
function endlessBody(chunk = 64 * KiB, total = GiB) {
  const state = { pulled: 0, cancelled: false as boolean, cancelReason: undefined as unknown }
  const piece = new Uint8Array(chunk).fill(0x7b)
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (state.pulled >= total) return controller.close()
        state.pulled += chunk
        controller.enqueue(piece)
      },
      cancel(reason) {
        state.cancelled = true
        state.cancelReason = reason
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, state }
}

/** A body sending one byte every `everyMs` (on the fake clock), forever. */
function tricklingBody(everyMs = 1000) {
  const state = { sent: 0, cancelled: false as boolean }
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            if (state.cancelled) return resolve()
            state.sent++
            controller.enqueue(new Uint8Array([0x20]))
            resolve()
          }, everyMs),
        )
      },
      cancel() {
        state.cancelled = true
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, state }
}

const answering =
  (body: () => ReadableStream<Uint8Array> | string | null, headers: Record<string, string> = {}, status = 200): DocumentFetch =>
  async () =>
    new Response(body(), { status, headers })

/** Settles into an observable state, so a test can ask "not yet?" without awaiting. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false }
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  )
  return state
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('fetchBounded', () => {
  it('cuts a body without Content-Length at the cap and cancels it, instead of reading 1 GiB', async () => {
    const { stream, state } = endlessBody()
    const failure = await fetchBounded('https://idp.test/jwks', { fetch: answering(() => stream), maxBytes: 512 * KiB, timeoutMs: 5000 }).catch((error: unknown) => error)
    expect(isYatagarasuError(failure, 'RemoteDocumentTooLarge')).toBe(true)
    expect(state.cancelled).toBe(true)
    // The cap plus the one chunk that crossed it: nothing else was asked of the endpoint.
    expect(state.pulled).toBe(512 * KiB + 64 * KiB)
  })

  it('refuses a declared Content-Length over the cap without reading the body', async () => {
    const { stream, state } = endlessBody()
    const failure = await fetchBounded('https://idp.test/jwks', {
      fetch: answering(() => stream, { 'content-length': String(GiB) }),
      maxBytes: 512 * KiB,
      timeoutMs: 5000,
    }).catch((error: unknown) => error)
    expect(isYatagarasuError(failure, 'RemoteDocumentTooLarge')).toBe(true)
    expect(state.pulled).toBe(0)
    expect(state.cancelled).toBe(true)
  })

  it('accepts exactly the cap and returns every byte, joined', async () => {
    const { stream } = endlessBody(4 * KiB, 64 * KiB)
    const answer = await fetchBounded('https://idp.test/jwks', { fetch: answering(() => stream, { 'x-a': '1' }), maxBytes: 64 * KiB, timeoutMs: 5000 })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('x-a')).toBe('1')
    expect(answer.bytes.byteLength).toBe(64 * KiB)
    expect(answer.bytes.every((byte) => byte === 0x7b)).toBe(true)
    const { stream: over } = endlessBody(4 * KiB, 64 * KiB + 4 * KiB)
    const failure = await fetchBounded('https://idp.test/jwks', { fetch: answering(() => over), maxBytes: 64 * KiB, timeoutMs: 5000 }).catch((error: unknown) => error)
    expect(isYatagarasuError(failure, 'RemoteDocumentTooLarge')).toBe(true)
  })

  it('fails a body trickling in at the deadline, not before, and cancels it', async () => {
    const { stream, state } = tricklingBody(1000)
    const result = track(fetchBounded('https://idp.test/jwks', { fetch: answering(() => stream), maxBytes: 512 * KiB, timeoutMs: 5000 }))
    await vi.advanceTimersByTimeAsync(4999)
    expect(result.settled).toBe(false)
    expect(state.sent).toBe(4)
    await vi.advanceTimersByTimeAsync(1)
    expect(result.settled).toBe(true)
    expect(isYatagarasuError(result.error, 'RemoteDocumentTimeout')).toBe(true)
    expect(state.cancelled).toBe(true)
  })

  it('fails at the deadline when the headers never come, aborting the fetch; even a fetch that ignores its signal', async () => {
    let signal: AbortSignal | undefined
    const hanging: DocumentFetch = (_url, init) => {
      signal = init.signal ?? undefined
      return new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)))
    }
    const result = track(fetchBounded('https://idp.test/jwks', { fetch: hanging, maxBytes: 1024, timeoutMs: 2000 }))
    await vi.advanceTimersByTimeAsync(1999)
    expect(result.settled).toBe(false)
    expect(signal?.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(signal?.aborted).toBe(true)
    expect(isYatagarasuError(result.error, 'RemoteDocumentTimeout')).toBe(true)

    const deaf = track(fetchBounded('https://idp.test/jwks', { fetch: () => new Promise<Response>(() => {}), maxBytes: 1024, timeoutMs: 2000 }))
    await vi.advanceTimersByTimeAsync(2000)
    expect(isYatagarasuError(deaf.error, 'RemoteDocumentTimeout')).toBe(true)
  })

  it('cancels the body of an answer that is not 2xx and reads none of it', async () => {
    const { stream, state } = endlessBody()
    const answer = await fetchBounded('https://idp.test/jwks', { fetch: answering(() => stream, {}, 503), maxBytes: 512 * KiB, timeoutMs: 5000 })
    expect(answer.status).toBe(503)
    expect(answer.bytes.byteLength).toBe(0)
    expect(state.cancelled).toBe(true)
    expect(state.pulled).toBe(0)
  })

  it('passes a network failure through as it is, and leaves no timer behind', async () => {
    const refused = new TypeError('fetch failed')
    const failure = await fetchBounded('https://idp.test/jwks', { fetch: () => Promise.reject(refused), maxBytes: 1024, timeoutMs: 5000 }).catch((error: unknown) => error)
    expect(failure).toBe(refused)
    expect(vi.getTimerCount()).toBe(0)
    await fetchBounded('https://idp.test/jwks', { fetch: answering(() => '{}'), maxBytes: 1024, timeoutMs: 5000 })
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('readBounded', () => {
  it('stops a read when its signal aborts, with the signal reason', async () => {
    const { stream, state } = tricklingBody(1000)
    const controller = new AbortController()
    const result = track(readBounded(stream, 1024, controller.signal))
    await vi.advanceTimersByTimeAsync(2500)
    const reason = new Error('gone')
    controller.abort(reason)
    await vi.advanceTimersByTimeAsync(0)
    expect(result.error).toBe(reason)
    expect(state.cancelled).toBe(true)
  })
})

describe('the JWKS uses it', () => {
  it('a key set endpoint streaming without Content-Length: the fetch fails at 512 KiB, the token is unverifiable', async () => {
    const { stream, state } = endlessBody()
    const errors: unknown[] = []
    const getKey = createRemoteJwks('https://idp.test/jwks', { fetch: answering(() => stream), onFetchError: (error) => errors.push(error) })
    const failure = await getKey({ alg: 'RS256', kid: 'k1' }, { payload: '', signature: '' }).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(JwksUnavailableError)
    expect(isYatagarasuError(errors[0], 'RemoteDocumentTooLarge')).toBe(true)
    expect(state.cancelled).toBe(true)
    expect(state.pulled).toBeLessThanOrEqual(MAX_JWKS_BYTES + 64 * KiB)
  })

  it('a key set trickling in fails at the 5 s timeout', async () => {
    const { stream, state } = tricklingBody(1000)
    const errors: unknown[] = []
    const getKey = createRemoteJwks('https://idp.test/jwks', { fetch: answering(() => stream), onFetchError: (error) => errors.push(error) })
    const result = track(getKey({ alg: 'RS256', kid: 'k1' }, { payload: '', signature: '' }))
    await vi.advanceTimersByTimeAsync(4999)
    expect(result.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(result.error).toBeInstanceOf(JwksUnavailableError)
    expect(isYatagarasuError(errors[0], 'RemoteDocumentTimeout')).toBe(true)
    expect(state.cancelled).toBe(true)
  })
})

describe('readiness uses it', () => {
  it('a probe whose answer never comes is "timeout" at the deadline', async () => {
    const config = resolveConfig({
      buckets: [{ name: 'a', pathPrefix: '/a', s3: { bucket: 'a', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' } }],
    })
    const methods: string[] = []
    const readiness = createReadiness(config.buckets, {
      timeoutMs: 2000,
      fetch: (_url, init) => {
        methods.push(init.method ?? 'GET')
        return new Promise(() => {})
      },
    })
    const report = track(readiness.check())
    await vi.advanceTimersByTimeAsync(1999)
    expect(report.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(report.value).toEqual({ ready: false, buckets: { a: { ready: false, reason: 'timeout' } } })
    expect(methods).toEqual(['HEAD'])
  })
})
