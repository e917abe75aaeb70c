/** Field schemas shared by the config blocks. Messages never contain the value. */
import * as v from 'valibot'
import { parseSize } from './size.js'

export const nonEmpty = v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'))

export const seconds = v.pipe(v.number(), v.check((n) => Number.isFinite(n) && n > 0, 'must be a positive number of seconds'))

export const positiveNumber = v.pipe(v.number(), v.check((n) => Number.isFinite(n) && n > 0, 'must be a positive number'))

export const positiveInteger = v.pipe(v.number(), v.check((n) => Number.isSafeInteger(n) && n >= 1, 'must be a whole number of at least 1'))

/** A number of bytes or a string such as `"10MB"` (see size.ts), kept as given; the examples are for messages. */
export function size(bytes: number, text: string) {
  return v.pipe(
    v.union([v.number(), v.string()], `expected a number of bytes or a size such as "${text}"`),
    v.check((value) => (parseSize(value) ?? 0) > 0, `must be a positive size such as ${bytes} or "${text}"`),
  )
}
