/**
 * Reading a source image whole, bounded by maxSourceSize: refused from Content-Length
 * before reading, or as soon as an undeclared body passes the limit; the transfer is
 * cancelled either way.
 */
import { describe, expect, it } from 'vitest'
import { BadGatewayError } from '../../src/errors.js'
import { readSource } from '../../src/images/read-source.js'

function source(chunks: number[]) {
  let pulled = 0
  let cancelled = false
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = chunks[pulled++]
      if (size === undefined) controller.close()
      else controller.enqueue(new Uint8Array(size).fill(pulled))
    },
    cancel() {
      cancelled = true
    },
  }, { highWaterMark: 0 })
  return { stream, pulled: () => pulled, cancelled: () => cancelled }
}

describe('readSource', () => {
  it('reads a body within the limit, with or without a declared length', async () => {
    const declared = source([3, 2])
    expect(await readSource(declared.stream, 10, 5)).toEqual({ bytes: new Uint8Array([1, 1, 1, 2, 2]) })
    const undeclared = source([3, 2])
    expect(await readSource(undeclared.stream, 5, undefined)).toEqual({ bytes: new Uint8Array([1, 1, 1, 2, 2]) })
  })

  it('refuses a declared length over the limit without reading', async () => {
    const body = source([100])
    expect(await readSource(body.stream, 10, 100)).toEqual({ tooLarge: true })
    expect(body.pulled()).toBe(0)
    expect(body.cancelled()).toBe(true)
  })

  it('stops an undeclared body as soon as it passes the limit', async () => {
    const body = source([4, 4, 4, 4, 4, 4])
    expect(await readSource(body.stream, 10, undefined)).toEqual({ tooLarge: true })
    expect(body.pulled()).toBe(3)
    expect(body.cancelled()).toBe(true)
  })

  it('a body longer or shorter than declared is a bad gateway', async () => {
    await expect(readSource(source([4, 4]).stream, 100, 6)).rejects.toBeInstanceOf(BadGatewayError)
    await expect(readSource(source([4]).stream, 100, 6)).rejects.toBeInstanceOf(BadGatewayError)
  })
})
