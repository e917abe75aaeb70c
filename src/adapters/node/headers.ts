/**
 * `Headers` for the Node adapter's lazy request and its responses over bytes in memory.
 *
 * On Node 20 every call on undici's `Headers` pays WebIDL conversions and checks
 * (~0.2–0.4 µs each), and a cache hit makes about twenty: the request's are read by
 * several middlewares, the response's are set one by one and then read back to write
 * them. These keep the name/value pairs as given (the request's raw header lines, the
 * response's record) and answer `get`, `has`, `set`, `append`, `delete`, `forEach` and
 * iteration themselves, as undici's do (names case-insensitive, repeats joined with `, `
 * — `; ` for Cookie —, iteration sorted and combined, `Set-Cookie` kept apart).
 * A name or value that is not plain (needs normalising, or is invalid) and every member
 * not served here go to undici's `Headers`, built then from the pairs; from that moment
 * on, and once the owning request or response built its undici object (`adopt`), every
 * call goes to undici's.
 */
import { headerBytes, WIRE_SIZE } from '../../http/header-size.js'
import { forwardMembers, forwardStateFields } from './forward-members.js'

const NativeHeaders = globalThis.Headers

/** A header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A value `Headers` would keep as it is: no surrounding whitespace, no NUL, CR or LF. */
const PLAIN_VALUE = /^(?:[^\0\t\n\r ](?:[^\0\n\r]*[^\0\t\n\r ])?)?$/

class LightHeaders {
  /** Names as given (any case); the value at the same index. */
  #names: string[]
  #values: string[]
  #native: Headers | undefined

  constructor(names: string[], values: string[]) {
    this.#names = names
    this.#values = values
  }

  /** The `[name, value, name, value, ...]` list to write, while nothing sent the headers to undici's; otherwise `undefined`. */
  static pairs(headers: Headers): string[] | undefined {
    if (!(#native in headers)) return undefined
    const self = headers as unknown as LightHeaders
    if (self.#native !== undefined) return undefined
    const out: string[] = []
    for (let i = 0; i < self.#names.length; i++) out.push(self.#names[i]!, self.#values[i]!)
    return out
  }

  /** From now on, every call goes to `native` (the headers of the undici object its owner built). */
  static adopt(headers: Headers, native: Headers): void {
    if (#native in headers) (headers as unknown as LightHeaders).#native = native
  }

  static native(headers: LightHeaders): Headers {
    if (headers.#native === undefined) {
      const native = new NativeHeaders()
      for (let i = 0; i < headers.#names.length; i++) native.append(headers.#names[i]!, headers.#values[i]!)
      headers.#native = native
    }
    return headers.#native
  }

  /** The bytes of the lines as received (or set), `name: value\r\n` each; see {@link WIRE_SIZE}. */
  [WIRE_SIZE](): number {
    if (this.#native !== undefined) return headerBytes(this.#native)
    let size = 0
    for (let i = 0; i < this.#names.length; i++) size += this.#names[i]!.length + this.#values[i]!.length + 4
    return size
  }

  get(name: string): string | null {
    const key = this.#native === undefined ? lowerToken(name) : undefined
    if (key === undefined) return LightHeaders.native(this).get(name)
    let out: string | null = null
    for (let i = 0; i < this.#names.length; i++) {
      if (same(this.#names[i]!, key)) out = out === null ? this.#values[i]! : `${out}${joiner(key)}${this.#values[i]!}`
    }
    return out
  }

  has(name: string): boolean {
    const key = this.#native === undefined ? lowerToken(name) : undefined
    if (key === undefined) return LightHeaders.native(this).has(name)
    for (let i = 0; i < this.#names.length; i++) if (same(this.#names[i]!, key)) return true
    return false
  }

  set(name: string, value: string): void {
    const key = this.#native === undefined ? lowerToken(name) : undefined
    if (key === undefined || !PLAIN_VALUE.test(value)) return LightHeaders.native(this).set(name, value)
    this.#remove(key)
    this.#names.push(key)
    this.#values.push(value)
  }

  append(name: string, value: string): void {
    const key = this.#native === undefined ? lowerToken(name) : undefined
    if (key === undefined || !PLAIN_VALUE.test(value)) return LightHeaders.native(this).append(name, value)
    this.#names.push(key)
    this.#values.push(value)
  }

  delete(name: string): void {
    const key = this.#native === undefined ? lowerToken(name) : undefined
    if (key === undefined) return LightHeaders.native(this).delete(name)
    this.#remove(key)
  }

  getSetCookie(): string[] {
    if (this.#native !== undefined) return this.#native.getSetCookie()
    const out: string[] = []
    for (let i = 0; i < this.#names.length; i++) if (same(this.#names[i]!, 'set-cookie')) out.push(this.#values[i]!)
    return out
  }

  forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    const entries = this.#native !== undefined ? [...this.#native] : this.#sorted()
    for (const [name, value] of entries) callback.call(thisArg, value, name, this as unknown as Headers)
  }

  entries(): IterableIterator<[string, string]> {
    return this.#native !== undefined ? this.#native.entries() : this.#sorted()[Symbol.iterator]()
  }

  keys(): IterableIterator<string> {
    return this.#native !== undefined ? this.#native.keys() : this.#sorted().map(([name]) => name)[Symbol.iterator]()
  }

  values(): IterableIterator<string> {
    return this.#native !== undefined ? this.#native.values() : this.#sorted().map(([, value]) => value)[Symbol.iterator]()
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries()
  }

  #remove(key: string): void {
    for (let i = this.#names.length - 1; i >= 0; i--) {
      if (same(this.#names[i]!, key)) {
        this.#names.splice(i, 1)
        this.#values.splice(i, 1)
      }
    }
  }

  /** The Fetch standard's "sort and combine": names lower-cased and sorted, repeats joined, each Set-Cookie apart. */
  #sorted(): [string, string][] {
    // A handful of headers: an insertion sort (stable, so repeats keep their order) and
    // one pass joining neighbours allocate less than a Map and Array.prototype.sort.
    const out: [string, string][] = []
    for (let i = 0; i < this.#names.length; i++) {
      const name = this.#names[i]!.toLowerCase()
      const value = this.#values[i]!
      let at = out.length
      while (at > 0 && out[at - 1]![0] > name) at--
      const before = out[at - 1]
      if (before !== undefined && before[0] === name && name !== 'set-cookie') before[1] = `${before[1]}${joiner(name)}${value}`
      else out.splice(at, 0, [name, value])
    }
    return out
  }
}

/** The name in lower case when it is a plain token; `undefined` sends the call to undici's Headers (which throws for a bad name). */
function lowerToken(name: string): string | undefined {
  if (typeof name !== 'string') return undefined
  let key = lowered.get(name)
  if (key !== undefined) return key
  if (!TOKEN.test(name)) return undefined
  key = name.toLowerCase()
  if (lowered.size < LOWERED_MAX) lowered.set(name, key)
  return key
}

// The names code asks for (`x-request-id`, `if-none-match`, ...) are a few dozen, asked on
// every request: checked and lower-cased once. Bounded, since a name may come from a config.
const lowered = new Map<string, string>()
const LOWERED_MAX = 512

/** How repeats of a header are joined: `; ` for Cookie, as undici does; `, ` for the rest. */
const joiner = (key: string): string => (key === 'cookie' ? '; ' : ', ')

/** Whether a stored name (any case) is `key` (lower case). */
function same(name: string, key: string): boolean {
  return name.length === key.length && (name === key || name.toLowerCase() === key)
}

const materialize = (headers: LightHeaders): Headers => LightHeaders.native(headers)
Object.setPrototypeOf(LightHeaders.prototype, NativeHeaders.prototype)
forwardMembers(LightHeaders.prototype, NativeHeaders.prototype, materialize)
forwardStateFields(LightHeaders.prototype, new NativeHeaders(), materialize)

/** The request's headers from Node's raw header lines (repeats kept; HTTP/2 pseudo-headers left out). */
export function requestHeaders(raw: string[]): Headers {
  const names: string[] = []
  const values: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.charCodeAt(0) === 58 /* ':' */) continue
    names.push(name)
    values.push(raw[i + 1]!)
  }
  return new LightHeaders(names, values) as unknown as Headers
}

/** Headers over a record of names and values, as a response's init gives them. */
export function recordHeaders(record: Record<string, string>): Headers {
  const names: string[] = []
  const values: string[] = []
  for (const name in record) {
    names.push(name)
    values.push(record[name]!)
  }
  return new LightHeaders(names, values) as unknown as Headers
}

/** See {@link LightHeaders.pairs}. */
export const headerPairs = (headers: Headers): string[] | undefined => LightHeaders.pairs(headers)

/** See {@link LightHeaders.adopt}. */
export const adoptHeaders = (headers: Headers, native: Headers): void => LightHeaders.adopt(headers, native)
