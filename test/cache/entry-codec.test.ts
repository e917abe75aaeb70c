/** The byte encoding of cache entries (Redis, Web Cache API): times survive, freshUntil only when set. */
import { describe, expect, it } from 'vitest'
import { decodeEntry, encodeEntry } from '../../src/cache/entry-codec.js'

describe('entry codec', () => {
  const body = new TextEncoder().encode('hello')

  it('round-trips an entry with freshUntil (stale_while_revalidate)', () => {
    const entry = { headers: { etag: '"e"' }, body, storedAt: 1000, expiresAt: 5000, freshUntil: 2000 }
    const decoded = decodeEntry(encodeEntry(entry))
    expect(decoded).toMatchObject({ headers: { etag: '"e"' }, storedAt: 1000, expiresAt: 5000, freshUntil: 2000 })
    expect(decoded!.body).toEqual(body)
  })

  it('leaves freshUntil out when the entry had none (fresh until expiresAt)', () => {
    const decoded = decodeEntry(encodeEntry({ headers: {}, body, storedAt: 1, expiresAt: 2 }))
    expect(decoded).not.toHaveProperty('freshUntil')
    expect(decoded).toMatchObject({ storedAt: 1, expiresAt: 2 })
  })
})
