/**
 * Refreshing credentials: single-flight fetches, a refresh before expiry that no request
 * waits for, a failed refresh that keeps the old credentials (logged without secrets),
 * and a request that waits for one refresh at most. An injected clock and promises the
 * test settles itself: no sleeps.
 */
import { describe, expect, it } from 'vitest'
import { refreshingCredentials, type AwsCredentials } from '../../src/s3/credentials.js'
import { testClock } from '../support/cache-origin.js'
import { nextTurn } from '../support/wait.js'

interface Call {
  resolve(credentials: AwsCredentials): void
  reject(error: Error): void
}

/** A provider whose calls the test answers one by one. */
function controlledProvider() {
  const calls: Call[] = []
  const provider = () =>
    new Promise<AwsCredentials>((resolve, reject) => {
      calls.push({ resolve, reject })
    })
  return { provider, calls }
}

function recordingLogger() {
  const lines: Array<{ message: string; fields?: Record<string, unknown> }> = []
  const log = (message: string, fields?: Record<string, unknown>) => void lines.push({ message, ...(fields && { fields }) })
  return { logger: { debug: log, info: log, warn: log, error: log }, lines }
}

const MINUTE = 60_000

function keys(n: number, expiresAt: number): AwsCredentials {
  return { accessKeyId: `AKID${n}`, secretAccessKey: `secret-${n}`, sessionToken: `token-${n}`, expiration: new Date(expiresAt) }
}

describe('refreshingCredentials', () => {
  it('the first fetch is shared by every request that arrives meanwhile', async () => {
    const clock = testClock()
    const { provider, calls } = controlledProvider()
    const source = refreshingCredentials(provider, { now: clock.now })
    const gets = Array.from({ length: 10 }, () => source.get())
    await nextTurn()
    expect(calls).toHaveLength(1)
    calls[0]!.resolve(keys(1, clock.now() + 60 * MINUTE))
    expect((await Promise.all(gets)).map((c) => c.accessKeyId)).toEqual(Array(10).fill('AKID1'))
    // kept: no further call while they are far from expiry
    clock.advance(30 * MINUTE)
    expect((await source.get()).accessKeyId).toBe('AKID1')
    expect(calls).toHaveLength(1)
  })

  it('refreshes once before expiry, in the background: requests are signed with the current ones meanwhile', async () => {
    const clock = testClock()
    const { provider, calls } = controlledProvider()
    const source = refreshingCredentials(provider, { now: clock.now, refreshBeforeMs: 5 * MINUTE })
    const first = source.get()
    calls[0]!.resolve(keys(1, clock.now() + 60 * MINUTE))
    await first
    clock.advance(56 * MINUTE)
    const during = await Promise.all(Array.from({ length: 20 }, () => source.get()))
    expect(during.every((c) => c.accessKeyId === 'AKID1')).toBe(true)
    expect(calls).toHaveLength(2)
    calls[1]!.resolve(keys(2, clock.now() + 60 * MINUTE))
    await nextTurn()
    expect((await source.get()).accessKeyId).toBe('AKID2')
    expect(calls).toHaveLength(2)
  })

  it('a failed refresh keeps the old credentials until they expire, is logged without secrets, and is retried later', async () => {
    const clock = testClock()
    const { provider, calls } = controlledProvider()
    const { logger, lines } = recordingLogger()
    const source = refreshingCredentials(provider, { now: clock.now, refreshBeforeMs: 5 * MINUTE, retryAfterMs: 10_000, logger, bucket: 'cdn' })
    const first = source.get()
    calls[0]!.resolve(keys(1, clock.now() + 60 * MINUTE))
    await first
    clock.advance(56 * MINUTE)
    expect((await source.get()).accessKeyId).toBe('AKID1')
    calls[1]!.reject(new Error('the endpoint answered 500'))
    await nextTurn()
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ message: 'S3 credentials refresh failed', fields: { bucket: 'cdn', error: { message: 'the endpoint answered 500' } } })
    expect(JSON.stringify(lines)).not.toMatch(/secret-1|token-1|AKID1/)
    // within retryAfterMs: the old ones, no new attempt
    clock.advance(5_000)
    expect((await source.get()).accessKeyId).toBe('AKID1')
    expect(calls).toHaveLength(2)
    // after it: one more attempt
    clock.advance(5_000)
    expect((await source.get()).accessKeyId).toBe('AKID1')
    expect(calls).toHaveLength(3)
    calls[2]!.resolve(keys(3, clock.now() + 60 * MINUTE))
    await nextTurn()
    expect((await source.get()).accessKeyId).toBe('AKID3')
  })

  it('once expired, a request waits for one refresh, and fails if that one fails', async () => {
    const clock = testClock()
    const { provider, calls } = controlledProvider()
    const source = refreshingCredentials(provider, { now: clock.now, refreshBeforeMs: 0, retryAfterMs: 10_000 })
    const first = source.get()
    calls[0]!.resolve(keys(1, clock.now() + MINUTE))
    await first
    clock.advance(MINUTE)
    const waiting = [source.get(), source.get(), source.get()]
    await nextTurn()
    expect(calls).toHaveLength(2)
    calls[1]!.reject(new Error('sts down'))
    for (const result of await Promise.allSettled(waiting)) expect(result).toMatchObject({ status: 'rejected', reason: { message: 'sts down' } })
    // the endpoint is not asked again on every request: within retryAfterMs it fails at once
    await expect(source.get()).rejects.toThrow('sts down')
    expect(calls).toHaveLength(2)
    clock.advance(10_000)
    const later = source.get()
    await nextTurn()
    expect(calls).toHaveLength(3)
    calls[2]!.resolve(keys(2, clock.now() + MINUTE))
    expect((await later).accessKeyId).toBe('AKID2')
  })

  it('credentials without expiration are fetched once', async () => {
    const clock = testClock()
    let count = 0
    const source = refreshingCredentials(async () => ({ accessKeyId: `A${++count}`, secretAccessKey: 's' }), { now: clock.now })
    await source.get()
    clock.advance(365 * 24 * 60 * MINUTE)
    expect((await source.get()).accessKeyId).toBe('A1')
    expect(count).toBe(1)
  })

  it('refuses what a provider of one\'s own returns wrongly', async () => {
    const bad = refreshingCredentials(async () => ({ accessKeyId: '', secretAccessKey: 's' }))
    await expect(bad.get()).rejects.toThrow(/accessKeyId/)
    const badDate = refreshingCredentials(async () => ({ accessKeyId: 'a', secretAccessKey: 's', expiration: new Date('nope') }))
    await expect(badDate.get()).rejects.toThrow(/expiration/)
  })
})
