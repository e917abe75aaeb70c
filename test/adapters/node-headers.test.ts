/**
 * The Node adapter's light Headers (src/adapters/node/headers.ts) behave as undici's:
 * the same operations on both give the same answers, whatever the names, cases,
 * repeats and values.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { adoptHeaders, headerPairs, recordHeaders, requestHeaders } from '../../src/adapters/node/headers.js'
import { headerBytes } from '../../src/http/header-size.js'

const name = fc.oneof(
  fc.constantFrom('Accept', 'accept', 'X-Multi', 'x-multi', 'Set-Cookie', 'set-cookie', 'Cookie', 'Content-Length', 'ETag', 'a'),
  fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,8}$/),
)
const badName = fc.constantFrom('bad name', 'x:y', '', 'é')
const value = fc.oneof(fc.constantFrom('', 'v', 'a, b', 'x=1; Path=/', ' padded ', '\tx'), fc.stringMatching(/^[\x20-\x7e]{0,12}$/))
const badValue = fc.constantFrom('a\nb', 'a\rb', 'a\0b')

type Op =
  | { op: 'get' | 'has' | 'delete'; name: string }
  | { op: 'set' | 'append'; name: string; value: string }
  | { op: 'entries' | 'getSetCookie' | 'keys' | 'values' | 'forEach' }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('get' as const, 'has' as const, 'delete' as const), name: fc.oneof({ weight: 9, arbitrary: name }, { weight: 1, arbitrary: badName }) }),
  fc.record({
    op: fc.constantFrom('set' as const, 'append' as const),
    name: fc.oneof({ weight: 9, arbitrary: name }, { weight: 1, arbitrary: badName }),
    value: fc.oneof({ weight: 9, arbitrary: value }, { weight: 1, arbitrary: badValue }),
  }),
  fc.record({ op: fc.constantFrom('entries' as const, 'getSetCookie' as const, 'keys' as const, 'values' as const, 'forEach' as const) }),
)

function apply(headers: Headers, step: Op): unknown {
  try {
    switch (step.op) {
      case 'get':
        return headers.get(step.name)
      case 'has':
        return headers.has(step.name)
      case 'delete':
        return headers.delete(step.name)
      case 'set':
        return headers.set(step.name, step.value)
      case 'append':
        return headers.append(step.name, step.value)
      case 'entries':
        return [...headers]
      case 'keys':
        return [...headers.keys()]
      case 'values':
        return [...headers.values()]
      case 'getSetCookie':
        return headers.getSetCookie()
      case 'forEach': {
        const seen: string[][] = []
        headers.forEach((v, k, parent) => seen.push([k, v, String(parent === headers)]))
        return seen
      }
    }
  } catch (error) {
    return `throws ${(error as Error).name}`
  }
}

const pairs = fc.array(fc.tuple(name, fc.stringMatching(/^[\x21-\x7e](?:[\x20-\x7e]{0,10}[\x21-\x7e])?$/)), { maxLength: 8 })

describe("the Node adapter's light Headers", () => {
  it("over a request's raw header lines: every operation answers as undici's Headers", () => {
    fc.assert(
      fc.property(pairs, fc.array(op, { maxLength: 20 }), (initial, steps) => {
        const raw = initial.flat()
        const light = requestHeaders(raw)
        const native = new Headers(initial)
        expect(light).toBeInstanceOf(Headers)
        for (const step of steps) expect(apply(light, step)).toEqual(apply(native, step))
        expect([...light]).toEqual([...native])
      }),
      { numRuns: 300 },
    )
  })

  it('answer their size as the lines they hold (what limits checks), without a sorted copy; as forEach counts it when no name repeats', () => {
    fc.assert(
      fc.property(pairs, fc.array(op, { maxLength: 6 }), (initial, steps) => {
        const light = requestHeaders(initial.flat())
        const lines = initial.reduce((size, [n, v]) => size + n.length + v.length + 4, 0)
        expect(headerBytes(light)).toBe(lines)
        const distinct = new Set(initial.map(([n]) => n.toLowerCase())).size === initial.length
        if (distinct) expect(headerBytes(light)).toBe(headerBytes(new Headers(initial)))
        // After any change (possibly handing over to undici's), still the size of what it holds.
        for (const step of steps) apply(light, step)
        let held = 0
        for (const [n, v] of light) held += n.length + v.length + 4
        if (distinct && !steps.some((step) => step.op === 'append')) expect(headerBytes(light)).toBe(held)
      }),
      { numRuns: 300 },
    )
  })

  it("over a response's record: every operation answers as undici's Headers, and the pairs to write are what it holds", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('etag', 'age', 'x-cache', 'content-type', 'x-amz-meta-a'), value), fc.array(op, { maxLength: 20 }), (record, steps) => {
        const trimmed = Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v.trim()]))
        const light = recordHeaders(trimmed)
        const native = new Headers(trimmed)
        for (const step of steps) expect(apply(light, step)).toEqual(apply(native, step))
        const written = headerPairs(light)
        if (written !== undefined) {
          const back = new Headers()
          for (let i = 0; i < written.length; i += 2) back.append(written[i]!, written[i + 1]!)
          expect([...back]).toEqual([...native])
        }
      }),
      { numRuns: 300 },
    )
  })

  it('Headers made from them, and undici objects built with them, get every pair', () => {
    const light = requestHeaders([':authority', 'x', 'Host', 'h', 'X-Multi', 'a', 'x-multi', 'b', 'Set-Cookie', 'c=1', 'Set-Cookie', 'd=2'])
    expect([...new Headers(light)]).toEqual([['host', 'h'], ['set-cookie', 'c=1'], ['set-cookie', 'd=2'], ['x-multi', 'a, b']])
    const request = new Request('http://localhost/', { headers: light })
    expect(request.headers.get('x-multi')).toBe('a, b')
    expect(headerPairs(light)).toEqual(['Host', 'h', 'X-Multi', 'a', 'x-multi', 'b', 'Set-Cookie', 'c=1', 'Set-Cookie', 'd=2'])
  })

  it('once adopted, every call goes to the undici Headers its owner built', () => {
    const light = recordHeaders({ a: '1' })
    const native = new Headers({ a: '2' })
    adoptHeaders(light, native)
    light.set('b', '3')
    expect([light.get('a'), native.get('b'), headerPairs(light)]).toEqual(['2', '3', undefined])
  })
})
