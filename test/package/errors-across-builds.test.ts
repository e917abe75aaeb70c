/**
 * The ESM and CJS builds each have their own error classes, so `instanceof` fails
 * across them (the dual-package hazard). Errors are recognised by their brand and
 * `code` instead: an error class from one build, thrown in a pipeline of the other, is
 * answered with its own status. Runs on the built package.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { ROOT_EXPORTS } from '../support/public-api.js'

const esm = (await import('../../dist/index.js')) as typeof import('../../src/index.js')
const cjs = createRequire(import.meta.url)('../../dist/index.cjs') as typeof import('../../src/index.js')

describe('errors across the ESM and CJS builds', () => {
  it('the two builds are distinct copies with the same exports', () => {
    expect(esm.ForbiddenError).not.toBe(cjs.ForbiddenError)
    expect(new cjs.ForbiddenError('x')).not.toBeInstanceOf(esm.HttpError)
    expect(Object.keys(esm).sort()).toEqual(ROOT_EXPORTS)
    expect(Object.keys(cjs).sort()).toEqual(ROOT_EXPORTS)
  })

  it('an HttpError from the CJS build, thrown in an ESM pipeline, keeps its status, code and headers', async () => {
    const handler = esm.compose(async () => {
      throw new cjs.TooManyRequestsError('slow down', { headers: { 'Retry-After': '2' } })
    })
    const response = await handler(new Request('http://proxy.test/x'))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('2')
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('TooManyRequests')
  })

  it('isYatagarasuError recognises errors of the other build, by code', () => {
    expect(esm.isYatagarasuError(new cjs.ConfigError([]), 'ConfigError')).toBe(true)
    expect(cjs.isYatagarasuError(new esm.NotFoundError('x'), 'NotFound')).toBe(true)
    expect(cjs.isYatagarasuError(new esm.NotFoundError('x'), 'Forbidden')).toBe(false)
  })
})
