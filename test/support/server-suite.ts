/**
 * What the standalone server's tests set up: in-process servers from a YAML file against
 * the S3 harness and a real redis-server (a suite's own, started once), servers shut down
 * and logs cleared after each test; and the `s3` block that reads the test S3 from the
 * environment, for the CLI's child processes.
 */
import { afterAll, afterEach, beforeAll } from 'vitest'
import { startServer, type RunningServer } from '../../src/server/server.js'
import { tempDir } from './cli.js'
import { startRedis, type TestRedis } from './redis-server.js'
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from './test-s3.js'

export interface ServerSuite<Log> {
  readonly s3: TestS3
  readonly redis: TestRedis
  readonly files: ReturnType<typeof tempDir>
  /** The log lines of the servers of the current test. */
  readonly logs: Log[]
  /**
   * A config file: the server on a free port, `head` (top-level blocks), bucket `cdn` at
   * `pathPrefix` on the test S3 cached for 60 s with `bucketExtra` (indented 4), then `rest`.
   */
  config(options: { pathPrefix: string; head?: string; bucketExtra?: string; rest?: string }): string
  /** Starts a server from `path` with `REDIS_URL` (the suite's Redis) and `env`; shut down after the test. */
  start(path: string, env?: Record<string, string>): Promise<RunningServer>
}

/** Registers the suite's hooks (call it in a `describe`): the S3 harness with bucket `assets` holding `objects`, and a redis-server. */
export function serverSuite<Log>(options: {
  objects: ReadonlyArray<readonly [key: string, body: string, headers?: Record<string, string>]>
  parseLog: (line: string) => Log
}): ServerSuite<Log> {
  let s3: TestS3
  let redis: TestRedis
  let files: ReturnType<typeof tempDir>
  const running: RunningServer[] = []
  const logs: Log[] = []

  beforeAll(async () => {
    s3 = await startTestS3({ buckets: [{ name: 'assets', region: 'us-east-1' }] })
    for (const [key, body, headers] of options.objects) await s3.put('assets', key, body, headers)
    redis = await startRedis()
    files = tempDir()
  })

  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.shutdown()))
    logs.length = 0
    s3.reset()
  })

  afterAll(async () => {
    await redis?.stop()
    await s3?.close()
    files?.cleanup()
  })

  return {
    get s3() {
      return s3
    },
    get redis() {
      return redis
    },
    get files() {
      return files
    },
    logs,
    config({ pathPrefix, head = '', bucketExtra = '', rest = '' }) {
      return files.write(
        `config-${Math.random().toString(36).slice(2)}.yaml`,
        `server: { address: "127.0.0.1:0" }
${head}buckets:
  - name: cdn
    path_prefix: ${pathPrefix}
    s3: { bucket: assets, region: us-east-1, endpoint: "${s3.endpoint}", access_key: ${TEST_CREDENTIALS.accessKeyId}, secret_key: ${TEST_CREDENTIALS.secretAccessKey} }
    cache: { ttl: 60 }
${bucketExtra}${rest}`,
      )
    },
    async start(path, env = {}) {
      const server = await startServer({ configPath: path, env: { REDIS_URL: redis.url, ...env }, write: (line) => logs.push(options.parseLog(line)) })
      running.push(server)
      return server
    },
  }
}

/** A bucket's `s3` block (indented for a `buckets:` item) reading the test S3 from {@link s3Env}'s variables. */
export const S3_FROM_ENV = `    s3:
      bucket: assets
      region: us-east-1
      endpoint: \${S3_ENDPOINT}
      access_key: \${S3_ACCESS_KEY}
      secret_key: \${S3_SECRET_KEY}
`

/** The variables {@link S3_FROM_ENV} reads. */
export function s3Env(s3: TestS3): Record<string, string> {
  return { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: TEST_CREDENTIALS.accessKeyId, S3_SECRET_KEY: TEST_CREDENTIALS.secretAccessKey }
}
