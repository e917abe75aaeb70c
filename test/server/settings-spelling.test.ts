/**
 * The server blocks' own checks speak the file's spelling, like the schema's messages:
 * a path named in a message is snake_case in a snake_case file and camelCase in a
 * camelCase one (parseConfig respells every message once).
 */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/parse.js'
import { ConfigError } from '../../src/errors.js'
import { checkServerBlocks, serverBlocks } from '../../src/server/settings.js'

function issuesOf(text: string): Array<{ path: string; message: string }> {
  try {
    parseConfig(text, {}, { blocks: serverBlocks, check: checkServerBlocks, onWarning: () => {} })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).issues.map(({ path, message }) => ({ path, message }))
  }
  return expect.unreachable('the config was accepted')
}

const s3 = (snake: boolean) =>
  snake
    ? 's3: { bucket: b, region: us-east-1, endpoint: "http://s3.test", access_key: AK, secret_key: SK }'
    : 's3: { bucket: b, region: us-east-1, endpoint: "http://s3.test", accessKey: AK, secretKey: SK }'

describe('two operational routes on one path', () => {
  it('are named in snake_case in a snake_case file', () => {
    const text = `buckets:\n  - { name: c, path_prefix: /c, ${s3(true)} }\nhealth:\n  path: /up\n  ready_path: /up\n`
    expect(issuesOf(text)).toEqual([{ path: 'health.ready_path', message: 'is the same path as health.path' }])
    const metrics = `buckets:\n  - { name: c, path_prefix: /c, ${s3(true)} }\nhealth:\n  ready_path: /m\nmetrics:\n  path: /m\n`
    expect(issuesOf(metrics)).toEqual([{ path: 'metrics.path', message: 'is the same path as health.ready_path' }])
  })

  it('are named in camelCase in a camelCase file', () => {
    const text = `buckets:\n  - { name: c, pathPrefix: /c, ${s3(false)} }\nhealth:\n  readyPath: /m\nmetrics:\n  path: /m\n`
    expect(issuesOf(text)).toEqual([{ path: 'metrics.path', message: 'is the same path as health.readyPath' }])
  })
})
