/**
 * The request context: `pathname` read from the raw URL string (the Node adapter's
 * request keeps the target as received) is what parsing the URL gives, for any path;
 * request ids are UUID-shaped and unique; what a hit never needs is made on first use.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createContext } from '../../src/context.js'

/** A request as the Node adapter's lazy one is to the context: its URL string as received. */
const rawRequest = (url: string) => ({ url, method: 'GET', headers: new Headers() }) as unknown as Request

const piece = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom('.', '..', '%2e', '%2E', '.%2e', '%2f', '%5c', '\\', '%00', '%ff', '%', '%4', '+', ' ', '"', '<', '>', '`', '{', '}', '^', '|', '?', '#', ';', ':', '@', '~', "'", '*', 'a', 'é', '\t', '\n'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
)
const path = fc.array(fc.array(piece, { maxLength: 4 }).map((parts) => parts.join('')), { maxLength: 5 }).map((segments) => `/${segments.join('/')}`)

describe('request context', () => {
  it('pathname is new URL(url).pathname for any path, query and fragment, read from the string or parsed', () => {
    fc.assert(
      fc.property(fc.constantFrom('http://h', 'https://h:8443', 'http://[::1]:80', 'http://h?x', 'http://h#y'), path, fc.string({ maxLength: 6 }), (origin, target, tail) => {
        const url = `${origin}${target}${tail}`
        let expected: string
        try {
          expected = new URL(url).pathname
        } catch {
          return // not a URL a request can have
        }
        expect(createContext(rawRequest(url), undefined).pathname).toBe(expected)
      }),
      { numRuns: 3000 },
    )
    for (const [url, expected] of [
      ['http://h/c/a.txt', '/c/a.txt'],
      ['http://h/c/../x', '/x'],
      ['http://h/c/%2E%2e/x', '/x'],
      ['http://h/c/a b', '/c/a%20b'],
      ['http://h?q=/a', '/'],
      ['http://h/c\\x', '/c/x'],
    ] as const) {
      expect(createContext(rawRequest(url), undefined).pathname).toBe(expected)
    }
  })

  it('pathname follows a url a middleware set', () => {
    const ctx = createContext(rawRequest('http://h/a/b'), undefined)
    ctx.url = new URL('http://h/other?x')
    expect(ctx.pathname).toBe('/other')
  })

  it('request ids are UUID-shaped, unique, and differ between fresh processes only by their random prefix', () => {
    const ids = Array.from({ length: 1000 }, () => createContext(rawRequest('http://h/a'), undefined).requestId)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('waitUntil, state and timings are there when used; waitUntil calls the runtime with its own this', () => {
    const seen: unknown[] = []
    const runtime = {
      waitUntil(this: unknown, promise: Promise<unknown>) {
        seen.push(this, promise)
      },
    }
    const ctx = createContext(rawRequest('http://h/a'), runtime)
    const work = Promise.resolve()
    ctx.waitUntil(work)
    expect(seen).toEqual([runtime, work])
    ctx.state.set('k', 1)
    ctx.timings.s3 = 2
    expect([ctx.state.get('k'), ctx.timings.s3]).toEqual([1, 2])
    // Without a runtime waitUntil, a failing promise is left to itself without an unhandled rejection.
    createContext(rawRequest('http://h/a'), undefined).waitUntil(Promise.reject(new Error('ignored')))
  })
})
