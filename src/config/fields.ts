/** Field schemas and block helpers shared by the config blocks. Messages never contain the value. */
import * as v from 'valibot'
import { parseSize } from './size.js'

export const nonEmpty = v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'))

/**
 * A finite number: above 0 (`positive`), from `min`, to `max`, `whole`; refused with the
 * rule in words, naming the `unit` ("a positive number of seconds") or a `noun` of its own.
 */
export function numberField(rule: { positive?: boolean; min?: number; max?: number; whole?: boolean; unit?: string; noun?: string }) {
  const { positive, min, max, whole } = rule
  const noun = `${rule.noun ?? (whole ? 'whole number' : 'number')}${rule.unit ? ` of ${rule.unit}` : ''}`
  const range = max !== undefined ? ` from ${min} to ${max}` : min === undefined ? '' : min === 0 ? ', 0 or more' : ` of at least ${min}`
  const fits = (n: number) => (whole ? Number.isSafeInteger(n) : Number.isFinite(n)) && !(positive && n <= 0) && !(n < (min ?? -Infinity) || n > (max ?? Infinity))
  return v.pipe(v.number(), v.check(fits, positive ? `must be a positive ${noun}` : `must be a ${noun}${range}`))
}

export const seconds = numberField({ positive: true, unit: 'seconds' })
export const positiveNumber = numberField({ positive: true })
export const positiveInteger = numberField({ min: 1, whole: true })

/** An absolute http(s) URL without credentials or fragment, and without a query unless `query`. */
export function httpUrl(message: string, options: { query?: boolean } = {}) {
  const fits = (value: string) => {
    const url = URL.canParse(value) ? new URL(value) : undefined
    return (url?.protocol === 'http:' || url?.protocol === 'https:') && !url.username && !url.password && !url.hash && (options.query === true || !url.search)
  }
  return v.pipe(v.string(), v.check(fits, message))
}

/** A number of bytes or a string such as `"10MB"` (see size.ts), kept as given; the examples are for messages. */
export function size(bytes: number, text: string) {
  return v.pipe(
    v.union([v.number(), v.string()], `expected a number of bytes or a size such as "${text}"`),
    v.check((value) => (parseSize(value) ?? 0) > 0, `must be a positive size such as ${bytes} or "${text}"`),
  )
}

/** A size field's bytes, or `fallback` when it is not given. */
export function bytesOr(value: number | string | undefined, fallback: number): number {
  return value === undefined ? fallback : parseSize(value)!
}

/** A block that is on when present, unless it says `enabled: false`. */
export function switchable<E extends v.ObjectEntries>(entries: E) {
  return v.object({
    /** Default `true` when the block is present. */
    enabled: v.optional(v.boolean()),
    ...entries,
  })
}

/** Resolves a {@link switchable} block: `undefined` when absent or `enabled: false`. */
export function ifEnabled<I extends { enabled?: boolean | undefined }, R>(resolve: (input: I) => R): (input: I | undefined) => R | undefined {
  return (input) => (input === undefined || input.enabled === false ? undefined : resolve(input))
}

/** The object without its `undefined` members (for optional fields under exactOptionalPropertyTypes). */
export function defined<T extends object>(object: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }
}
