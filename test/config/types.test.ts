/**
 * The config types are the schema's: what type-checks is what validates. These are
 * compile-time checks (`npm run typecheck` compiles the tests), each paired with the
 * runtime verdict of the schema on the same value.
 */
import * as v from 'valibot'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { configSchema } from '../../src/config/schema.js'
import type { AuthConfig, BucketConfig, S3Config, YatagarasuConfig } from '../../src/index.js'

const connection = { bucket: 'b', region: 'us-east-1', accessKey: 'AK', secretKey: 'SK' }
const valid = (s3: unknown, extra: Record<string, unknown> = {}) => v.is(configSchema, { buckets: [{ name: 'a', pathPrefix: '/a', s3, ...extra }] })

describe('config types', () => {
  it('are derived from the schema, and its output is valid input', () => {
    expectTypeOf<YatagarasuConfig>().toEqualTypeOf<v.InferOutput<typeof configSchema>>()
    expectTypeOf<YatagarasuConfig>().toExtend<v.InferInput<typeof configSchema>>()
    const config: YatagarasuConfig = { basePath: '/api', buckets: [{ name: 'a', pathPrefix: '/a', s3: connection, cache: { maxSize: '1GB' } }] }
    expect(v.is(configSchema, config)).toBe(true)
  })

  it('need the connection fields unless replicas are given, as validation does', () => {
    const single: S3Config = connection
    // @ts-expect-error secretKey is required without replicas
    const incomplete: S3Config = { bucket: 'b', region: 'us-east-1', accessKey: 'AK' }
    const replicated: S3Config = { replicas: [{ name: 'r', ...connection }] }
    expect([valid(single), valid(incomplete), valid(replicated)]).toEqual([true, false, true])
  })

  it('make auth either off (anything under jwt) or a checked jwt block', () => {
    const off: AuthConfig = { enabled: false, jwt: 'ignored' }
    const on: AuthConfig = { jwt: { secret: 'a-secret-that-is-long-enough-for-hs256!', algorithm: 'HS256', tokenSources: [{ type: 'query', name: 't' }] } }
    // @ts-expect-error 'cookie' is not a token source
    const wrongSource: AuthConfig = { jwt: { secret: 'x', tokenSources: [{ type: 'cookie' }] } }
    const bucket: BucketConfig['auth'][] = [off, on, wrongSource]
    expect(bucket.map((auth) => valid(connection, { auth }))).toEqual([true, true, false])
  })
})
