/**
 * A body's length, declared to the runtime. workerd (Cloudflare Workers) sends a body
 * made by a JavaScript `ReadableStream` with chunked encoding and drops the
 * `Content-Length` header, unless the stream's underlying source names its length as
 * `expectedLength`; it then also fails a body that ends short. Every other runtime
 * ignores the extra field, so each stream the proxy wraps a body in declares it.
 */
export type LengthDeclaringSource<T> = UnderlyingDefaultSource<T> & { expectedLength?: number }

/** The `Content-Length` of a body, when it is a plain decimal number (a safe integer); else `undefined`. */
export function declaredLength(headers: Headers): number | undefined {
  const value = headers.get('content-length')
  if (value === null || !/^\d{1,16}$/.test(value)) return undefined
  const length = Number(value)
  return Number.isSafeInteger(length) ? length : undefined
}

/** `source` with `expectedLength` added when the length is known. */
export function withDeclaredLength<T>(source: UnderlyingDefaultSource<T>, length: number | undefined): LengthDeclaringSource<T> {
  return length === undefined ? source : { ...source, expectedLength: length }
}
