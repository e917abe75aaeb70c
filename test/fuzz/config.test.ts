/**
 * Property-based fuzzing of config parsing: arbitrary values, and valid configs with
 * any field replaced by junk (wrong types, empty, huge, nested nonsense). Properties:
 * `resolveConfig` either resolves or throws a `ConfigError` whose issues each name a
 * path — nothing else is ever thrown; planted secrets never appear in an error
 * message nor in `JSON.stringify` of a resolved config; whatever resolves builds a
 * working handler. `parseConfig` (YAML/JSON text) gets the same treatment.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { ConfigError, createYatagarasu, parseConfig, resolveConfig, silentLogger, type ConfigIssue } from '../../src/index.js'

/** Planted in the secret fields only: it must never be printed, resolved or not. */
const PLANT = 'PLANTED-SECRET-VALUE'
/** Planted anywhere: an error message must never echo it (messages never echo values). */
const JUNK = 'JUNK-VALUE'
const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(JUNK),
  fc.constant(''),
  fc.constant(`${JUNK}/../${JUNK}`),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.string({ maxLength: 12 }),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.constant(JUNK)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 5 }), fc.constant(JUNK)), { maxKeys: 3 }),
)
/** A valid value most of the time; otherwise a near miss or junk. */
const maybe = <T>(valid: fc.Arbitrary<T>, ...nearMisses: unknown[]) =>
  fc.oneof(
    { weight: 80, arbitrary: valid },
    { weight: 1, arbitrary: nearMisses.length > 0 ? fc.constantFrom(...nearMisses) : junk },
    { weight: 1, arbitrary: junk },
  )
const seconds = maybe(fc.constantFrom(0.5, 1, 5, 30), 0, -1, Number.NaN, '5')

const s3Fields = fc.record(
  {
    bucket: maybe(fc.constantFrom('assets', 'my.bucket'), ''),
    region: maybe(fc.constantFrom('us-east-1', 'eu-west-1'), ''),
    endpoint: maybe(fc.constantFrom('http://127.0.0.1:9000', 'https://s3.example.com/'), 'ftp://x', 'http://h/?q', 'http://u:p@h'),
    accessKey: maybe(fc.constant(`AKID${PLANT}`)),
    secretKey: maybe(fc.constant(PLANT)),
    sessionToken: maybe(fc.constant(`SESSION${PLANT}`)),
    timeout: seconds,
  },
  { requiredKeys: ['bucket', 'region', 'accessKey', 'secretKey'] },
)
const replica = fc.tuple(s3Fields, fc.nat(9), maybe(fc.integer({ min: -2, max: 5 }), 1.5)).map(([fields, n, priority]) => ({
  ...fields,
  name: n === 0 ? 'dup' : `r${n}`,
  priority,
}))
const s3 = fc
  .tuple(
    s3Fields,
    fc.record(
      {
        idleTimeout: seconds,
        retries: maybe(fc.integer({ min: 0, max: 10 }), 11, -1, 0.5),
        circuitBreaker: maybe(
          fc.record({ failureThreshold: maybe(fc.integer({ min: 1, max: 6 }), 0), successThreshold: maybe(fc.integer({ min: 1, max: 3 }), 0.5), timeoutSeconds: seconds }, { requiredKeys: [] }),
        ),
        replicas: maybe(fc.array(replica, { minLength: 1, maxLength: 3 }), []),
      },
      { requiredKeys: [] },
    ),
  )
  .map(([a, b]) => ({ ...a, ...b }))
const cidr = maybe(fc.constantFrom('10.0.0.0/8', '2001:db8::/32', '::ffff:1.2.3.4', '192.168.1.1'), '1.2.3.4/33', '01.2.3.4', JUNK)
const bucket = (index: number) =>
  fc.record(
    {
      name: maybe(fc.constant(`bucket${index}`), '', JUNK),
      pathPrefix: maybe(fc.constant(index === 0 ? '/' : `/p${index}/`), 'nope', '/a/../b', '/a?b'),
      s3: maybe(s3),
      cors: maybe(
        fc.record(
          {
            allowedOrigins: maybe(fc.array(maybe(fc.constantFrom('*', 'https://a.example.com', 'https://*.example.org'), 'https://x/', JUNK), { minLength: 1, maxLength: 3 }), []),
            allowedMethods: maybe(fc.array(maybe(fc.constantFrom('GET', 'head'), 'PUT'), { minLength: 1, maxLength: 2 }), []),
            allowCredentials: maybe(fc.constant(false)),
            maxAge: maybe(fc.nat(1000), -1, 1.5),
          },
          { requiredKeys: ['allowedOrigins'] },
        ),
      ),
      ipFilter: maybe(fc.record({ allow: maybe(fc.array(cidr, { minLength: 1, maxLength: 3 }), []), deny: maybe(fc.array(cidr, { maxLength: 3 })) }, { requiredKeys: [] })),
      rateLimiting: maybe(
        fc.record(
          {
            enabled: maybe(fc.boolean()),
            requestsPerSecond: maybe(fc.double({ min: 0.1, max: 100, noNaN: true }), 0, -1),
            burstSize: maybe(fc.integer({ min: 1, max: 20 }), 0, 1.5),
            key: maybe(fc.constantFrom('ip', 'user', 'global'), 'host'),
          },
          { requiredKeys: ['requestsPerSecond'] },
        ),
      ),
      auth: maybe(fc.record({ enabled: maybe(fc.boolean()), jwt: maybe(fc.record({ secret: maybe(fc.constant(`${PLANT}-long-enough-for-hs256-0123456789`)), algorithm: maybe(fc.constant('HS256'), 'RS256', 'none') }, { requiredKeys: ['secret'] })) }, { requiredKeys: ['jwt'] })),
      cache: maybe(fc.record({ enabled: maybe(fc.boolean()), ttl: maybe(fc.integer({ min: 1, max: 100 }), -1), maxSize: maybe(fc.constantFrom('1GB', '10MB'), '10XB') }, { requiredKeys: [] })),
    },
    { requiredKeys: ['name', 'pathPrefix', 's3'] },
  )
const config = fc.record(
  {
    basePath: maybe(fc.constantFrom('/api', '/'), 'api'),
    buckets: maybe(fc.tuple(bucket(0), bucket(1), fc.boolean()).map(([a, b, two]) => (two ? [a, b] : [a])), []),
    rateLimiting: maybe(fc.record({ requestsPerSecond: maybe(fc.constantFrom(1, 50), 0, -1), key: maybe(fc.constantFrom('ip', 'user'), 'x') }, { requiredKeys: ['requestsPerSecond'] })),
    limits: maybe(fc.record({ maxUrlLength: maybe(fc.constantFrom(1024, '8KB'), 0, 'lots'), maxHeaderSize: maybe(fc.constantFrom('16KB', 4096), -5) }, { requiredKeys: [] })),
  },
  { requiredKeys: ['buckets'] },
)

function check(input: unknown): 'resolved' | 'refused' {
  let resolved
  try {
    resolved = resolveConfig(input as never)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    const configError = error as ConfigError
    // Plain checks in the loop: this runs tens of thousands of times.
    if (configError.issues.length === 0) throw new Error('a ConfigError without issues')
    for (const issue of configError.issues) {
      if (typeof issue.path !== 'string' || !issue.message) throw new Error('an issue without path or message')
    }
    if (configError.message.includes(PLANT) || configError.message.includes(JUNK)) throw new Error('a ConfigError echoed a value')
    return 'refused'
  }
  if (JSON.stringify(resolved).includes(PLANT)) throw new Error('a resolved config printed a secret')
  createYatagarasu(input as never, { logger: silentLogger })
  return 'resolved'
}

describe('config parsing under fuzzing', () => {
  it('resolveConfig: valid configs with near misses and junk anywhere (20,000 configs)', () => {
    const outcomes = { resolved: 0, refused: 0 }
    fc.assert(
      fc.property(config, (input) => {
        outcomes[check(input)]++
      }),
      { numRuns: 20_000 },
    )
    // Both sides are exercised.
    expect(outcomes.resolved).toBeGreaterThan(500)
    expect(outcomes.refused).toBeGreaterThan(500)
  }, 120_000)

  it('resolveConfig: arbitrary values (5,000)', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true }), (input) => {
        check(input)
        check({ buckets: [input] })
        check({ buckets: [{ name: 'a', pathPrefix: '/a', s3: input }] })
      }),
      { numRuns: 5_000 },
    )
  })

  // parseConfig costs about 1 ms per KB of text (the yaml library's parse, then the
  // schema), so the runs are spent where they find things: many cheap texts, and fewer
  // whole configs of 1-2 KB each, half of them written as YAML blocks the way users do.
  it('parseConfig: arbitrary text and JSON never throw anything but ConfigError (2,000)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.json()), (text) => {
        parsesSafely(text)
      }),
      { numRuns: 2_000 },
    )
  }, 60_000)

  it('parseConfig: configs as YAML blocks or JSON, with near misses and junk anywhere (600)', () => {
    const outcomes = { resolved: 0, refused: 0 }
    const text = fc.tuple(config, fc.boolean()).map(([c, asYaml]) =>
      (asYaml
        ? stringify(snakeCaseKeys(c))
        : JSON.stringify(c).replace(/"([a-z]+)([A-Z])/g, (_, head: string, upper: string) => `"${head}_${upper.toLowerCase()}`) // some keys snake_case
      ).replace(PLANT, '${SECRET}'),
    )
    fc.assert(
      fc.property(text, (input) => {
        outcomes[parsesSafely(input)]++
      }),
      { numRuns: 600 },
    )
    // Both sides are exercised (about 2 % resolve: one junk field anywhere refuses a config).
    expect(outcomes.resolved).toBeGreaterThan(0)
    expect(outcomes.refused).toBeGreaterThan(400)
  }, 60_000)
})

/** Parses `text`: a ConfigError (echoing no value) or a config; warnings never echo the secret. */
function parsesSafely(text: string): 'resolved' | 'refused' {
  const warnings: ConfigIssue[] = []
  let outcome: 'resolved' | 'refused' = 'resolved'
  try {
    parseConfig(text, { SECRET: PLANT }, { onWarning: (w) => warnings.push(w) })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    if (error.message.includes(PLANT) || error.message.includes(JUNK)) throw new Error('a ConfigError echoed a value')
    outcome = 'refused'
  }
  for (const warning of warnings) if (`${warning.path} ${warning.message}`.includes(PLANT)) throw new Error('a warning echoed a secret')
  return outcome
}

/** Every key of plain objects in snake_case, as a config file is written. */
function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.replace(/[A-Z]/g, (upper) => `_${upper.toLowerCase()}`), snakeCaseKeys(item)]))
}
