/**
 * The root entry's runtime exports, exactly: middlewares, stores, factories, errors
 * (types are not listed: they vanish at run time). A name added or removed here is a
 * change to the public API, made knowingly.
 */
import { describe, expect, it } from 'vitest'
import * as root from '../../src/index.js'
import * as server from '../../src/server/index.js'
import { ROOT_EXPORTS, SERVER_EXPORTS } from '../support/public-api.js'

describe('the public API', () => {
  it('yatagarasu exports exactly these names', () => {
    expect(Object.keys(root).sort()).toEqual(ROOT_EXPORTS)
  })

  it('yatagarasu/server exports exactly these names', () => {
    expect(Object.keys(server).sort()).toEqual(SERVER_EXPORTS)
  })

  it('every error has a stable code and is recognised by it, not by instanceof', () => {
    const errors = Object.entries(root).filter(([name]) => name.endsWith('Error') && name !== 'isYatagarasuError')
    for (const [name, ErrorClass] of errors) {
      const error = name === 'ConfigError' ? new root.ConfigError([]) : new (ErrorClass as new (message: string) => root.YatagarasuError)('m')
      expect(error.code, name).toMatch(/^[A-Z][A-Za-z]+$/)
      expect(error.name).toBe(name)
      expect(root.isYatagarasuError(error)).toBe(true)
      expect(root.isYatagarasuError(error, error.code)).toBe(true)
      expect(root.isYatagarasuError(error, 'SomethingElse')).toBe(false)
    }
    expect(root.isYatagarasuError(new Error('x'))).toBe(false)
    expect(root.isYatagarasuError({ code: 'NotFound', status: 404 })).toBe(false)
    expect(root.isYatagarasuError(undefined)).toBe(false)
  })
})
