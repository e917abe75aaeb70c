/**
 * The size of a request's headers as on the wire (`name: value\r\n` per line), which the
 * `limits` middleware checks.
 */

/**
 * A `Headers` that knows its lines as received may answer their size through this
 * method, without the sorted and combined copy that `forEach` makes (the Node adapter's
 * request headers do: a cache hit otherwise sorted them once per request for this alone).
 */
export const WIRE_SIZE: unique symbol = Symbol.for('yatagarasu.headers.wireSize')

interface WithWireSize {
  [WIRE_SIZE]?: () => number
}

/** The bytes of `name: value\r\n` over every header line. */
export function headerBytes(headers: Headers): number {
  const own = (headers as WithWireSize)[WIRE_SIZE]
  if (typeof own === 'function') return own.call(headers)
  let size = 0
  headers.forEach((value, name) => {
    size += name.length + value.length + 4
  })
  return size
}
