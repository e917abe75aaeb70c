/**
 * A fake S3 for the cache's unit tests, injected as the origin `fetch`: objects in a
 * map, every request recorded (with whether its body was read to the end or
 * cancelled), bodies sent in chunks that can be paced by a gate or by turns of the event
 * loop — never by time, so what overlaps with what does not depend on the machine's load.
 */
import type { FetchFunction, YatagarasuConfig } from '../../src/index.js'
import { nextTurn } from './wait.js'

export const ENDPOINT = 'http://s3.test'

export interface FakeObject {
  body: string | Uint8Array
  headers?: Record<string, string>
  /** Send the body in chunks of this many bytes. Default: one chunk. */
  chunkSize?: number
  /**
   * Yield this many turns of the event loop before each chunk: requests started
   * alongside catch up meanwhile (reach the cache, join a fill), and no time is waited for.
   */
  turns?: number
  /** Await this before each chunk (lets a test release chunks one by one: {@link chunkGate}). */
  gate?: () => Promise<void>
  /** Leave out Content-Length. */
  noLength?: boolean
  /** Error the body after this many bytes. */
  failAfter?: number
  /** Status to answer with (default 200). Errors send an XML body. */
  status?: number
}

export interface OriginRequest {
  method: string
  bucket: string
  key: string
  headers: Headers
  bytesSent: number
  /** Resolves when the body was sent to the end (`completed`) or cancelled/aborted. */
  done: Promise<{ completed: boolean; bytesSent: number }>
}

export interface FakeOrigin {
  fetch: FetchFunction
  requests: OriginRequest[]
  objects: Map<string, FakeObject>
  put(key: string, object: FakeObject | string, bucket?: string): void
}

export function fakeOrigin(): FakeOrigin {
  const objects = new Map<string, FakeObject>()
  const requests: OriginRequest[] = []

  const fetchImpl: FetchFunction = async (input, init) => {
    const url = new URL(input)
    const [bucket = '', ...rest] = url.pathname.split('/').slice(1).map(decodeURIComponent)
    const key = rest.join('/')
    const headers = new Headers(init.headers)
    const method = init.method ?? 'GET'
    let settle!: (value: { completed: boolean; bytesSent: number }) => void
    const record: OriginRequest = { method, bucket, key, headers, bytesSent: 0, done: new Promise((r) => (settle = r)) }
    requests.push(record)
    const signal = init.signal ?? undefined
    if (signal?.aborted) {
      settle({ completed: false, bytesSent: 0 })
      throw new DOMException('aborted', 'AbortError')
    }
    const object = objects.get(`${bucket}/${key}`)
    if (object === undefined) {
      settle({ completed: true, bytesSent: 0 })
      return new Response('<Error><Code>NoSuchKey</Code></Error>', { status: 404, headers: { 'content-type': 'application/xml' } })
    }
    const body = typeof object.body === 'string' ? new TextEncoder().encode(object.body) : object.body
    const responseHeaders = new Headers(object.headers)
    const etag = responseHeaders.get('etag')
    const status = object.status ?? 200
    if (status >= 400) {
      settle({ completed: true, bytesSent: 0 })
      return new Response('<Error/>', { status, headers: { 'content-type': 'application/xml' } })
    }
    if (etag !== null && headers.get('if-none-match') === etag) {
      settle({ completed: true, bytesSent: 0 })
      return new Response(null, { status: 304, headers: { etag } })
    }
    let slice = body
    let responseStatus = status
    const range = headers.get('range')
    const match = range === null ? null : /^bytes=(\d+)-(\d*)$/.exec(range)
    if (match) {
      const start = Number(match[1])
      const end = match[2] ? Number(match[2]) : body.byteLength - 1
      slice = body.subarray(start, end + 1)
      responseStatus = 206
      responseHeaders.set('content-range', `bytes ${start}-${end}/${body.byteLength}`)
    }
    if (!object.noLength) responseHeaders.set('content-length', String(slice.byteLength))
    if (method === 'HEAD') {
      settle({ completed: true, bytesSent: 0 })
      return new Response(null, { status: responseStatus, headers: responseHeaders })
    }
    const chunkSize = object.chunkSize ?? Math.max(1, slice.byteLength)
    let offset = 0
    let finished = false
    const finish = (completed: boolean) => {
      if (finished) return
      finished = true
      settle({ completed, bytesSent: record.bytesSent })
    }
    let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined
    signal?.addEventListener('abort', () => {
      finish(false)
      try {
        controllerRef?.error(new DOMException('aborted', 'AbortError'))
      } catch {}
    })
    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          controllerRef = controller
        },
        async pull(controller) {
          if (finished) return
          if (object.gate) await object.gate()
          if (object.turns) await nextTurn(object.turns)
          if (finished) return
          if (object.failAfter !== undefined && offset >= object.failAfter) {
            finish(false)
            controller.error(new TypeError('connection reset'))
            return
          }
          if (offset >= slice.byteLength) {
            finish(true)
            controller.close()
            return
          }
          const chunk = slice.slice(offset, offset + chunkSize)
          offset += chunk.byteLength
          record.bytesSent += chunk.byteLength
          controller.enqueue(chunk)
          if (offset >= slice.byteLength && object.failAfter === undefined) {
            finish(true)
            controller.close()
          }
        },
        cancel() {
          finish(false)
        },
      },
      { highWaterMark: 0 },
    )
    return new Response(stream, { status: responseStatus, headers: responseHeaders })
  }

  return {
    fetch: fetchImpl,
    requests,
    objects,
    put(key, object, bucket = 'assets') {
      objects.set(`${bucket}/${key}`, typeof object === 'string' ? { body: object } : object)
    },
  }
}

/** A one-bucket config (`/cdn` → S3 bucket `assets`) with the given cache block (`null`: none). */
export function cachedConfig(cache: NonNullable<YatagarasuConfig['buckets'][number]['cache']> | null = {}): YatagarasuConfig {
  return {
    buckets: [
      {
        name: 'cdn',
        pathPrefix: '/cdn',
        s3: { bucket: 'assets', region: 'us-east-1', endpoint: ENDPOINT, accessKey: 'AKIDTEST', secretKey: 'test-secret' },
        ...(cache !== null && { cache }),
      },
    ],
  }
}

/** A manually advanced clock. */
export function testClock(start = Date.UTC(2026, 0, 1)) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

/** Lets pending promise callbacks and stream pulls run: `rounds` turns of the event loop, no time waited for. */
export function settle(rounds = 20): Promise<void> {
  return nextTurn(rounds)
}

/**
 * A `gate` for a {@link FakeObject} that the test opens: `release(n)` lets n more chunks
 * through (across every request for the object), `open()` all of them from then on.
 */
export function chunkGate() {
  let allowed = 0
  let opened = false
  const waiting: Array<() => void> = []
  const admit = () => {
    while (waiting.length > 0 && (opened || allowed > 0)) {
      if (!opened) allowed--
      waiting.shift()!()
    }
  }
  return {
    gate: () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve)
        admit()
      }),
    release(chunks = 1) {
      allowed += chunks
      admit()
    },
    open() {
      opened = true
      admit()
    },
  }
}

/** A promise that the test resolves: `open()`. */
export function latch() {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

/** Collects `waitUntil` promises so a test can await background work (the cache writes). */
export function backgroundWork() {
  const pending: Promise<unknown>[] = []
  return {
    context: { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) },
    async flush() {
      while (pending.length > 0) await Promise.allSettled(pending.splice(0))
    },
  }
}
