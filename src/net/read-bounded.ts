/**
 * Bounded reads of the documents the proxy fetches for itself (a JWKS; a readiness
 * probe's answer). An issuer that is slow, broken or hostile must not be able to hold
 * memory or time: the byte cap is enforced while the body streams in (past it the body
 * is cancelled, so at most the cap plus one chunk is ever held), and one deadline covers
 * the whole exchange, headers and body alike — a body trickling in one byte at a time
 * fails at the deadline, not when the issuer decides to stop.
 */
import { joinChunks } from '../cache/fill.js'
import { YatagarasuError } from '../errors.js'

/** A remote document was larger than the cap allowed (declared or counted while reading). */
export class RemoteDocumentTooLargeError extends YatagarasuError {
  override readonly code = 'RemoteDocumentTooLarge'
}

/** A remote document (headers and body) did not arrive within its deadline. */
export class RemoteDocumentTimeoutError extends YatagarasuError {
  override readonly code = 'RemoteDocumentTimeout'
}

export type DocumentFetch = (input: string, init: RequestInit) => Promise<Response>

export interface FetchBoundedOptions {
  fetch: DocumentFetch
  /** Method, headers, redirect... — the signal is the helper's own. */
  init?: Omit<RequestInit, 'signal'>
  /** Most body bytes accepted. */
  maxBytes: number
  /** Milliseconds for the whole exchange: until the last body byte. */
  timeoutMs: number
}

export interface RemoteDocument {
  readonly status: number
  readonly headers: Headers
  /** The body of a 2xx answer; empty for other statuses (whose body is cancelled unread). */
  readonly bytes: Uint8Array
}

/**
 * Fetches `url` and reads a 2xx answer's body, within `maxBytes` and `timeoutMs`.
 * Throws a {@link RemoteDocumentTooLargeError} (code `RemoteDocumentTooLarge`) past
 * the cap, a {@link RemoteDocumentTimeoutError} (`RemoteDocumentTimeout`) past the
 * deadline, and the fetch's own error when the host can't be reached. The deadline is
 * a timer of the runtime (fake timers move it) that aborts the fetch and cancels the
 * body reader, so it holds even for a fetch that ignores its signal once headers came.
 */
export async function fetchBounded(url: string, options: FetchBoundedOptions): Promise<RemoteDocument> {
  const controller = new AbortController()
  const expired = new RemoteDocumentTimeoutError(`no complete answer within ${options.timeoutMs} ms`)
  const timer = setTimeout(() => controller.abort(expired), options.timeoutMs)
  try {
    let response: Response
    try {
      response = await untilAborted(options.fetch(url, { ...options.init, signal: controller.signal }), controller.signal)
    } catch (error) {
      throw controller.signal.aborted ? expired : error
    }
    if (response.status < 200 || response.status > 299 || response.body === null) {
      await response.body?.cancel().catch(() => {})
      return { status: response.status, headers: response.headers, bytes: new Uint8Array(0) }
    }
    const bytes = await readBounded(response.body, options.maxBytes, controller.signal, response.headers.get('content-length'))
    return { status: response.status, headers: response.headers, bytes }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Reads `body` whole, refusing it as soon as more than `maxBytes` arrived (or were
 * declared) and stopping when `signal` aborts; the stream is cancelled either way.
 */
export async function readBounded(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  signal?: AbortSignal,
  declaredLength?: string | null,
): Promise<Uint8Array> {
  const tooLarge = () => new RemoteDocumentTooLargeError(`the document is larger than ${maxBytes} bytes`)
  if (declaredLength != null && Number(declaredLength) > maxBytes) {
    await body.cancel().catch(() => {})
    throw tooLarge()
  }
  const reader = body.getReader()
  // A fetch may keep a body stream going after its signal aborted (an injected one, or a
  // runtime that only honours it for headers): cancelling the reader ends a pending read.
  const stop = () => void reader.cancel(signal?.reason).catch(() => {})
  signal?.addEventListener('abort', stop, { once: true })
  const chunks: Uint8Array[] = []
  let length = 0
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (error) {
        throw signal?.aborted ? signal.reason : error
      }
      if (signal?.aborted) throw signal.reason
      if (result.done) break
      length += result.value.byteLength
      if (length > maxBytes) {
        await reader.cancel().catch(() => {})
        throw tooLarge()
      }
      chunks.push(result.value)
    }
  } finally {
    signal?.removeEventListener('abort', stop)
  }
  return joinChunks(chunks, length)
}

/** A response's (or request's) body as text, read within `maxBytes` (see {@link readBounded}). */
export async function readTextBounded(response: Request | Response, maxBytes: number, signal?: AbortSignal): Promise<string> {
  if (response.body === null) return ''
  return new TextDecoder().decode(await readBounded(response.body, maxBytes, signal, response.headers.get('content-length')))
}

/** `promise`, or the signal's reason once it aborts — for a fetch that ignores its signal. */
function untilAborted(promise: Promise<Response>, signal: AbortSignal): Promise<Response> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      reject(signal.reason)
      // Headers arriving after the deadline: nobody will read that body.
      promise.then((late) => late.body?.cancel().catch(() => {}), () => {})
    }
    if (signal.aborted) return abort()
    signal.addEventListener('abort', abort, { once: true })
    promise.then(
      (response) => {
        signal.removeEventListener('abort', abort)
        resolve(response)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort)
        reject(error)
      },
    )
  })
}
