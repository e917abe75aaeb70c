/**
 * The helpers every module logs failures through: one throttle for warnings that repeat
 * (stores and connections that are down), one summary of an error, and background work
 * that reports its failures to the Logger rather than the console.
 */
import { describe, expect, it } from 'vitest'
import { backgroundTasks } from '../../src/adapters/background.js'
import { declaredLength } from '../../src/http/declared-length.js'
import { describeError } from '../../src/logging/describe-error.js'
import type { Logger } from '../../src/logging/logger.js'
import { REPEAT_INTERVAL_MS, throttledWarn } from '../../src/logging/throttled-warn.js'

function recordingLogger() {
  const entries: Array<{ level: string; message: string; fields: Record<string, unknown> | undefined }> = []
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => void entries.push({ level, message, fields })
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }
  return { entries, logger }
}

describe('throttledWarn', () => {
  it('logs the first at once, then at most once per interval with the number left out', () => {
    const { entries, logger } = recordingLogger()
    let now = 1_000
    const warn = throttledWarn(logger, { now: () => now })
    warn('store down', { error: 'A' })
    warn('store down', { error: 'B' })
    now += REPEAT_INTERVAL_MS - 1
    warn('store down', { error: 'C' })
    now += 1
    warn('store down', { error: 'D' })
    warn('store down', { error: 'E' })
    now += REPEAT_INTERVAL_MS
    warn('store down', { error: 'F' })
    expect(entries).toEqual([
      { level: 'warn', message: 'store down', fields: { error: 'A' } },
      { level: 'warn', message: 'store down', fields: { error: 'D', suppressed: 2 } },
      { level: 'warn', message: 'store down', fields: { error: 'F', suppressed: 1 } },
    ])
  })

  it('keeps each key apart, and does nothing without a logger', () => {
    const { entries, logger } = recordingLogger()
    const warn = throttledWarn(logger, { now: () => 0 })
    warn('cache store failed', { bucket: 'a' }, 'a\0get')
    warn('cache store failed', { bucket: 'b' }, 'b\0get')
    warn('cache store failed', { bucket: 'a' }, 'a\0get')
    expect(entries.map((entry) => entry.fields?.bucket)).toEqual(['a', 'b'])
    expect(() => throttledWarn(undefined)('nobody listens')).not.toThrow()
  })
})

describe('describeError', () => {
  it("gives name, message and the error's code, else its cause's", () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) })
    expect(describeError(refused)).toEqual({ name: 'TypeError', code: 'ECONNREFUSED', message: 'fetch failed' })
    const own = Object.assign(new Error('reset'), { code: 'ECONNRESET', cause: { code: 'OTHER' } })
    expect(describeError(own).code).toBe('ECONNRESET')
    expect(describeError('text')).toEqual({ name: 'Error', message: 'text' })
  })

  it('masks the credentials of a URL in the message', () => {
    const error = new Error('cannot reach redis://user:hunter2@cache:6379/0')
    expect(describeError(error).message).toBe('cannot reach redis://***@cache:6379/0')
    expect(JSON.stringify(describeError(error))).not.toContain('hunter2')
  })
})

describe('declaredLength', () => {
  it('reads a plain decimal Content-Length that is a safe integer, nothing else', () => {
    const length = (value: string) => declaredLength(new Headers({ 'Content-Length': value }))
    expect(length('0')).toBe(0)
    expect(length(' 42 ')).toBe(42)
    expect(length(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER)
    expect(length('9007199254740993')).toBeUndefined()
    expect(length('12345678901234567')).toBeUndefined()
    expect(length('1e3')).toBeUndefined()
    expect(length('-1')).toBeUndefined()
    expect(length('5, 5')).toBeUndefined()
    expect(declaredLength(new Headers())).toBeUndefined()
  })
})

describe('backgroundTasks', () => {
  it("reports a failed task to the Logger by the error's name only, and settles", async () => {
    const { entries, logger } = recordingLogger()
    const tasks = backgroundTasks(logger)
    tasks.waitUntil(Promise.reject(new Error('redis://user:secret@host failed')))
    tasks.waitUntil(Promise.resolve('fine'))
    await tasks.settled()
    expect(tasks.size).toBe(0)
    expect(entries).toEqual([{ level: 'error', message: 'background task failed', fields: { error: 'Error' } }])
  })
})
