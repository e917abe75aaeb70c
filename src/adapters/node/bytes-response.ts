/**
 * The Node adapter's `Response` over bytes already in memory (a cache hit): what it
 * gives the handler as `context.bytesResponse`.
 *
 * On Node 20, `new Response(bytes)` copies the bytes and wraps them in a
 * `ReadableStream` (~40 µs for 1 KB: more than `node:http` spends on a whole request),
 * which the adapter then reads back chunk by chunk. This one keeps the bytes — shared with
 * the cache, never altered, never copied — and the adapter writes them straight to the
 * socket (bounded chunks, with backpressure). Status and headers are its own; anything that
 * reads the body (`body`, `arrayBuffer()`, `clone()`, ...) gets undici's Response, built on
 * first use over a copy of the bytes, so nothing a middleware does can alter what the
 * cache holds. It is a `Response` to `instanceof` and to every member.
 */
import { forwardMembers, forwardStateFields } from './forward-members.js'
import { adoptHeaders, recordHeaders } from './headers.js'

const NativeResponse = globalThis.Response

class BytesResponse {
  readonly #bytes: Uint8Array | null
  readonly #status: number
  readonly #statusText: string
  readonly #headers: Headers
  #native: Response | undefined

  constructor(bytes: Uint8Array | null, init: ResponseInit) {
    this.#bytes = bytes
    this.#status = init.status ?? 200
    this.#statusText = init.statusText ?? ''
    const headers = init.headers
    this.#headers =
      headers instanceof Headers ? headers : headers === undefined || Array.isArray(headers) ? new Headers(headers) : recordHeaders(headers as Record<string, string>)
  }

  /** The bytes to write, while nothing has read the body; otherwise `undefined`. */
  static bytesOf(response: Response): Uint8Array | null | undefined {
    if (!(#bytes in response)) return undefined
    const self = response as unknown as BytesResponse
    return self.#native === undefined ? self.#bytes : undefined
  }

  static native(response: BytesResponse): Response {
    if (response.#native === undefined) {
      // undici copies a Uint8Array body (checked in test/adapters/node.test.ts).
      response.#native = new NativeResponse(response.#bytes as Uint8Array<ArrayBuffer> | null, {
        status: response.#status,
        statusText: response.#statusText,
        headers: response.#headers,
      })
      adoptHeaders(response.#headers, response.#native.headers)
    }
    return response.#native
  }

  get status(): number {
    return this.#status
  }

  get statusText(): string {
    return this.#statusText
  }

  get ok(): boolean {
    return this.#status >= 200 && this.#status < 300
  }

  get headers(): Headers {
    return this.#headers
  }

  get type(): ResponseType {
    return 'default'
  }

  get url(): string {
    return ''
  }

  get redirected(): boolean {
    return false
  }

  get bodyUsed(): boolean {
    return this.#native?.bodyUsed ?? false
  }
}

const materialize = (response: BytesResponse): Response => BytesResponse.native(response)
Object.setPrototypeOf(BytesResponse.prototype, NativeResponse.prototype)
forwardMembers(BytesResponse.prototype, NativeResponse.prototype, materialize)
forwardStateFields(BytesResponse.prototype, new NativeResponse(null), materialize)

/** A Response whose body is `bytes` (or none), which it never alters nor lets a consumer alter. */
export function bytesResponse(bytes: Uint8Array | null, init: ResponseInit): Response {
  return new BytesResponse(bytes, init) as unknown as Response
}

/** The bytes of a {@link bytesResponse} nothing has read the body of (`null`: no body); otherwise `undefined`. */
export const bytesOf = (response: Response): Uint8Array | null | undefined => BytesResponse.bytesOf(response)
