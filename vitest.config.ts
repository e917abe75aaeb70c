import { defineConfig } from 'vitest/config'

/**
 * Four projects (`vitest run --project NAME`); `npm test` runs them all:
 * - unit: everything in-process, no servers, no child processes (test/support/unit-guard.ts
 *   enforces it) and no build: `npm run test:unit`, the inner loop.
 * - fuzz: property-based fuzzing, in-process too, but a minute or more of CPU.
 * - integration: real HTTP servers, the S3 harness (s3rver), redis-server, the built CLI and
 *   demo, package installs.
 * - conformance: the same scenarios on every runtime (Node, Bun, Deno, workerd, edge-runtime,
 *   Next.js) and the examples.
 * Both of the last two build dist/ once in their global setup (when a source changed), and
 * integration makes sure redis-server is there (test/support/provision-redis.ts).
 */
const CONFORMANCE = ['test/conformance/*.test.ts', 'test/examples/examples-run.test.ts']

/** Property-based fuzzing: in-process like unit tests, but tens of thousands of runs each. */
const FUZZ = ['test/fuzz/*.test.ts']

const INTEGRATION = [
  'test/abuse/limits.test.ts',
  'test/abuse/rate-limit.test.ts',
  'test/adapters/node.test.ts',
  'test/audit/log-server.test.ts',
  'test/auth/jwks.test.ts',
  'test/auth/never-reaches-s3.test.ts',
  'test/cache/disk-runtimes.test.ts',
  'test/cache/disk-store.test.ts',
  'test/cache/redis-purge-bus.test.ts',
  'test/cache/redis-store.test.ts',
  'test/cache/s3-integration.test.ts',
  'test/cache/stale-s3.test.ts',
  'test/cache/tiered-store.test.ts',
  'test/cache/web-cache-store.test.ts',
  'test/delivery/s3-integration.test.ts',
  'test/examples/demo-local-s3.test.ts',
  'test/examples/demo-npm-start.test.ts',
  'test/examples/deployment.test.ts',
  'test/images/s3-integration.test.ts',
  'test/images/server.test.ts',
  'test/package/edge-bundle-size.test.ts',
  'test/package/errors-across-builds.test.ts',
  'test/package/installs.test.ts',
  'test/reliability/replica-credentials.test.ts',
  'test/reliability/replicas.test.ts',
  'test/reliability/retries-and-breaker.test.ts',
  'test/reliability/timeouts.test.ts',
  'test/s3/credential-providers.test.ts',
  'test/s3/node-http-transport.test.ts',
  'test/s3/proxy-integration.test.ts',
  'test/s3/test-harness.test.ts',
  'test/server/admin.test.ts',
  'test/server/cache-layers.test.ts',
  'test/server/cli.test.ts',
  'test/server/credentials.test.ts',
  'test/server/fleet.test.ts',
  'test/server/limits.test.ts',
  'test/server/load.test.ts',
  'test/server/readiness.test.ts',
  'test/server/tracing.test.ts',
]

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...INTEGRATION, ...CONFORMANCE, ...FUZZ],
          setupFiles: ['test/support/unit-guard.ts'],
          benchmark: { include: ['bench/**/*.bench.ts'] },
        },
      },
      {
        extends: true,
        test: { name: 'fuzz', include: FUZZ, setupFiles: ['test/support/unit-guard.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION,
          globalSetup: ['test/support/setup-build.ts', 'test/support/setup-redis.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'conformance',
          include: CONFORMANCE,
          globalSetup: ['test/support/setup-build.ts'],
        },
      },
    ],
  },
})
