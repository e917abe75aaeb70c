/**
 * The standalone server: the proxy from a config file, with `/health`, `/ready` and
 * `/metrics`, request logs, graceful shutdown and atomic reloads.
 */
import { readFile } from 'node:fs/promises'
import { serve, type NodeServer } from '../adapters/node.js'
import { busyError } from '../adapters/node/busy.js'
import { compose } from '../compose.js'
import { metrics as metricsMiddleware } from '../middleware/metrics.js'
import { requestId } from '../middleware/request-id.js'
import { requestLog } from '../middleware/request-log.js'
import { nodeFetch } from '../s3/transports/node-http.js'
import { createCache } from '../cache/create-cache.js'
import type { ParsedConfig } from '../config/parse.js'
import { resolveConfig } from '../config/resolve.js'
import type { ResolvedBucket, ResolvedConfig } from '../config/types.js'
import type { FetchHandler, HandlerContext } from '../context.js'
import { createYatagarasu } from '../create-yatagarasu.js'
import { ConfigError, type ConfigIssue } from '../errors.js'
import { lineLogger } from '../logging/line-logger.js'
import type { Logger } from '../logging/logger.js'
import { createMetrics, type YatagarasuMetrics } from '../metrics/collector.js'
import { memoryStore } from '../stores/memory.js'
import { lazyTransformer, type ImageTransformer } from '../images/transformer.js'
import { loadConfigFile, warningsOf, type LoadedConfig } from './config-file.js'
import { createAuditOutput } from './audit-output.js'
import { createReadiness, type Readiness } from './readiness.js'
import type { CredentialsRuntime } from '../s3/credential-providers.js'
import type { ServerSettings, SettingsOverrides } from './settings.js'
import { VERSION } from './version.js'
import { createSharedStores, type SharedStores } from './shared-stores.js'
import { adminApi, type AdminApi } from '../admin/admin-api.js'
import type { CacheSettings } from './cache-settings.js'
import { startTracing, type ServerTracing } from './tracing.js'

export interface StartServerOptions extends SettingsOverrides {
  /** The YAML or JSON config file; `reload()` reads it again. */
  configPath: string
  /** Where `${VAR}`s come from. Default `process.env` (read again on each reload). */
  env?: Readonly<Record<string, string | undefined>>
  /** Receives each log line (without its line feed). Default: stdout. */
  write?: (line: string) => void
}

export interface RunningServer {
  /** The proxy's URL, e.g. `http://0.0.0.0:8080`. */
  readonly url: string
  /** The metrics URL when they have a port of their own. */
  readonly metricsUrl: string | undefined
  /** The server's logger (its level and format follow the config). */
  readonly logger: Logger
  /** The settings in force. */
  readonly settings: ServerSettings
  /**
   * Reads the config file again and, when it is valid, swaps the handler in one step:
   * requests in flight finish on the old one, new ones get the new one. An invalid file
   * is logged and the running config stays. Resolves whether the new config is in force.
   * Listening addresses are not changed by a reload (a restart is needed).
   */
  reload(): Promise<boolean>
  /**
   * Stops accepting connections, lets requests in flight finish for up to the shutdown
   * timeout, then closes what is left. Calling it again returns the same promise.
   */
  shutdown(): Promise<void>
  /** Ends the shutdown's wait at once: closes every connection. */
  forceClose(): void
}

interface Generation {
  readonly loaded: LoadedConfig
  /** The config the handler was made from (with the `cache` block's default TTL). */
  readonly config: ParsedConfig
  readonly resolved: ResolvedConfig
  readonly handler: FetchHandler
  readonly readiness: Readiness
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }

/**
 * Starts the standalone server from a config file. Throws a `ConfigError` when the
 * file is invalid, and the listen error when the port can't be bound.
 *
 * @example
 * const server = await startServer({ configPath: 'config.yaml', port: 8080 })
 * process.once('SIGTERM', () => server.shutdown().then(() => process.exit(0)))
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const env = options.env ?? process.env
  const overrides: SettingsOverrides = {
    ...(options.port !== undefined && { port: options.port }),
    ...(options.host !== undefined && { host: options.host }),
  }
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`))

  const first = await loadConfigFile(options.configPath, env, overrides)
  let log = lineLogger({ ...first.settings.logging, write })
  const logger: Logger = {
    debug: (message, fields) => log.debug(message, fields),
    info: (message, fields) => log.info(message, fields),
    warn: (message, fields) => log.warn(message, fields),
    error: (message, fields) => log.error(message, fields),
  }
  reportWarnings(logger, first.warnings)
  // sharp is loaded only when a bucket enables images, and a missing sharp stops the start —
  // before anything is opened (Redis connections, the audit file) that would keep the
  // refused process alive.
  if (resolveConfig(first.config).buckets.some((bucket) => bucket.images !== undefined)) await loadSharpTransformer()
  const audit = createAuditOutput(logger)
  audit.apply(first.settings.auditLog)

  const metrics = createMetrics()
  const reloads = serverMetrics(metrics)
  let shared: SharedStores
  try {
    shared = await createSharedStores(first.settings, { logger, metrics })
  } catch (error) {
    await audit.close()
    throw error
  }
  // One cache for the life of the process: a reload keeps what is cached (buckets whose
  // S3 changed are purged), and the metrics see every store. With a `cache` block, its
  // layers are shared by every bucket; without, each bucket has a memory store of its size.
  const cache = createCache({
    store:
      shared.cacheStore ??
      ((bucket) => {
        const store = memoryStore({ maxSize: bucket.maxSize })
        metrics.observeCacheStore(bucket.name, store)
        return store
      }),
  })

  // The SDK is loaded only with tracing enabled; OTEL_* come from the process environment.
  const tracing: ServerTracing | undefined = first.settings.tracing.enabled ? await startTracing(first.settings.tracing, process.env, logger) : undefined

  const imageTransformer = lazyTransformer(loadSharpTransformer)

  // The built-in s3.credentials providers read the process's environment and token files.
  const credentialsRuntime: CredentialsRuntime = { env, readFile: (path) => readFile(path, 'utf8') }

  function build(loaded: LoadedConfig): Generation {
    const resolved = resolveConfig(loaded.config)
    const config = withDefaultTtl(loaded.config, first.settings.cache)
    const handler = createYatagarasu(config, {
      fetch: nodeFetch,
      ...(shared.rateLimitStore && { rateLimitStore: shared.rateLimitStore }),
      logger,
      requestLog: logger,
      metrics,
      cache,
      imageTransformer,
      ...(loaded.settings.auditLog.enabled && { audit: audit.log }),
      ...(tracing && { tracerProvider: tracing.tracerProvider }),
      credentialsRuntime,
    })
    const readiness = createReadiness(resolved.buckets, { fetch: nodeFetch, logger, credentialsRuntime })
    return { loaded, config, resolved, handler, readiness }
  }

  let current = build(first)
  let draining = false
  // The token is read at start (like the listening addresses); `admin.enabled: false` makes the routes plain paths.
  const admin: AdminApi | undefined = first.settings.admin.enabled
    ? adminApi({
        token: first.settings.admin.token,
        cache,
        config: () => current.config,
        fetch: nodeFetch,
        logger,
        credentialsRuntime,
        reload: () => running.reload(),
      })
    : undefined

  const front: FetchHandler = async (request, context) => {
    const generation = current
    const settings = generation.loaded.settings
    const path = requestPath(request, context)
    if (settings.health.enabled) {
      if (path === settings.health.path) return operation(request, () => json(200, { status: 'ok' }))
      if (path === settings.health.readyPath) return operation(request, () => readiness(generation))
    }
    if (settings.metrics.enabled && settings.metrics.port === undefined && path === settings.metrics.path) {
      return operation(request, () => metrics.response())
    }
    if (admin?.handles(path)) return admin.fetch(request, context)
    return generation.handler(request, context)
  }

  async function readiness(generation: Generation): Promise<Response> {
    if (draining) return json(503, { status: 'draining' })
    const report = await generation.readiness.check()
    return json(report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', buckets: report.buckets })
  }

  // A request refused at max_concurrent_requests never reaches a handler: it is still
  // logged and counted like any other (no bucket: refused before routing).
  const busy = compose(requestId(), requestLog(logger), metricsMiddleware(metrics), () => Promise.reject(busyError()))

  const settings = first.settings
  let main: NodeServer
  try {
    main = await serve(front, { port: settings.port, hostname: settings.host, ...settings.limits, logger, busy })
  } catch (error) {
    await Promise.all([audit.close(), shared.close(), tracing?.shutdown()])
    throw error
  }
  let metricsServer: NodeServer | undefined
  if (settings.metrics.enabled && settings.metrics.port !== undefined) {
    const metricsPath = settings.metrics.path
    try {
      metricsServer = await serve(
        async (request, context) => {
          const path = requestPath(request, context)
          if (path === metricsPath) return operation(request, () => metrics.response())
          if (admin?.handles(path)) return admin.fetch(request, context)
          return json(404, { error: { status: 404, code: 'NotFound', message: 'Not found' } })
        },
        { port: settings.metrics.port, hostname: settings.metrics.host, ...settings.limits, logger, busy },
      )
    } catch (error) {
      await Promise.all([main.close(), audit.close(), shared.close(), tracing?.shutdown()])
      throw error
    }
  }

  logger.info('listening', {
    url: main.url,
    ...(metricsServer && { metricsUrl: metricsServer.url + settings.metrics.path }),
    config: first.path,
    buckets: first.config.buckets.length,
    version: VERSION,
  })

  let reloadQueue: Promise<boolean> = Promise.resolve(true)

  async function reloadOnce(): Promise<boolean> {
    let loaded: LoadedConfig
    let next: Generation
    try {
      loaded = await loadConfigFile(options.configPath, env, overrides)
      next = build(loaded)
      // Also reopens an unchanged file: SIGHUP after a log rotation starts a new one.
      audit.apply(loaded.settings.auditLog)
    } catch (error) {
      reloads.failure()
      if (error instanceof ConfigError) {
        reportWarnings(logger, warningsOf(error))
        logger.error('config reload failed; the running config stays', { config: current.loaded.path, issues: error.issues })
      } else {
        logger.error('config reload failed; the running config stays', { error: error instanceof Error ? error.name : typeof error })
      }
      return false
    }
    reportWarnings(logger, loaded.warnings)
    const previous = current
    current = next
    // After the swap: fills still running on the old handler are marked by the purge and not stored.
    await purgeChangedBuckets(previous.resolved.buckets, next.resolved.buckets, (bucket) => cache.purge({ bucket }))
    log = lineLogger({ ...loaded.settings.logging, write })
    for (const field of restartOnlyChanges(previous.loaded.settings, loaded.settings)) {
      logger.warn('changed setting needs a restart; still using the old value', { setting: field })
    }
    reloads.success()
    logger.info('config reloaded', { config: loaded.path, buckets: loaded.config.buckets.length })
    return true
  }

  let stopping: Promise<void> | undefined
  let forced: (() => void) | undefined

  function forceClose(): void {
    main.server.closeAllConnections()
    metricsServer?.server.closeAllConnections()
    forced?.()
  }

  const running: RunningServer = {
    url: main.url,
    metricsUrl: metricsServer && metricsServer.url + settings.metrics.path,
    logger,
    get settings() {
      return current.loaded.settings
    },
    reload() {
      reloadQueue = reloadQueue.then(reloadOnce, reloadOnce)
      return reloadQueue
    },
    shutdown() {
      stopping ??= (async () => {
        draining = true
        admin?.close()
        const timeoutMs = current.loaded.settings.shutdownTimeoutMs
        // Stops listening at once (synchronously), before anything is logged.
        const closed = Promise.all([main.close(), metricsServer?.close()])
        logger.info('shutting down: waiting for requests in flight', { timeoutSeconds: timeoutMs / 1000 })
        let timer: ReturnType<typeof setTimeout> | undefined
        const waited = await Promise.race([
          closed.then(() => 'closed' as const),
          new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), timeoutMs)
            forced = () => resolve('timeout')
          }),
        ])
        clearTimeout(timer)
        if (waited === 'timeout') {
          logger.warn('shutdown: closing the connections still open')
          main.server.closeAllConnections()
          metricsServer?.server.closeAllConnections()
          // Whatever still runs (a cache write) gets a moment, not forever.
          await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())])
        }
        await Promise.all([audit.close(), shared.close(), tracing?.shutdown()])
        logger.info('stopped')
      })()
      return stopping
    },
    forceClose,
  }
  return running
}

/** Handles GET and HEAD of an operational route. */
async function loadSharpTransformer(): Promise<ImageTransformer> {
  try {
    const { sharpTransformer } = await import('../images/sharp-transformer.js')
    return sharpTransformer()
  } catch (error) {
    throw new Error('image transforms need the sharp package (npm install sharp)', { cause: error })
  }
}

async function operation(request: Request, respond: () => Response | Promise<Response>): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response(null, { status: 405, headers: { Allow: 'GET, HEAD', 'Cache-Control': 'no-store' } })
  }
  const response = await respond()
  return request.method === 'HEAD' ? new Response(null, { status: response.status, headers: response.headers }) : response
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS })
}

/** The path as received (the Node adapter passes it), without the query. */
function requestPath(request: Request, context: HandlerContext | undefined): string {
  const raw = context?.rawPath
  if (raw !== undefined) {
    const query = raw.indexOf('?')
    return query === -1 ? raw : raw.slice(0, query)
  }
  return new URL(request.url).pathname
}

function reportWarnings(logger: Logger, warnings: readonly ConfigIssue[]): void {
  for (const warning of warnings) {
    logger.warn('config: unknown key ignored', { path: warning.path, ...(warning.line !== undefined && { line: warning.line }) })
  }
}

/**
 * Cached objects are keyed by bucket name: when a bucket's S3 target changes, or its
 * cache is turned off, what is cached for it must go, or a reload could serve objects
 * from the old target.
 */
async function purgeChangedBuckets(
  before: readonly ResolvedBucket[],
  after: readonly ResolvedBucket[],
  purge: (bucket: string) => Promise<number>,
): Promise<void> {
  const next = new Map(after.map((bucket) => [bucket.name, bucket]))
  await Promise.all(
    before
      .filter((bucket) => bucket.cache !== undefined)
      .filter((bucket) => {
        const now = next.get(bucket.name)
        return now === undefined || now.cache === undefined || origin(now) !== origin(bucket)
      })
      .map((bucket) => purge(bucket.name).catch(() => 0)),
  )
}

/**
 * `cache.memory.default_ttl_seconds`: the TTL of buckets whose `cache` block gives none
 * (the bucket's own `ttl` still wins). Only with a top-level `cache` block.
 */
function withDefaultTtl(config: ParsedConfig, settings: CacheSettings | undefined): ParsedConfig {
  if (settings === undefined) return config
  const ttl = settings.memory.defaultTtl
  const buckets = config.buckets.map((bucket) =>
    bucket.cache === undefined || bucket.cache.ttl !== undefined ? bucket : { ...bucket, cache: { ...bucket.cache, ttl } },
  )
  return { ...config, buckets }
}

function origin(bucket: ResolvedBucket): string {
  return JSON.stringify(bucket.s3.targets.map((t) => [t.endpoint ?? '', t.region, t.bucket, t.accessKey]))
}

function restartOnlyChanges(before: ServerSettings, after: ServerSettings): string[] {
  const changed: string[] = []
  if (before.host !== after.host || before.port !== after.port) changed.push('server.address')
  if (before.metrics.port !== after.metrics.port || (before.metrics.port !== undefined && before.metrics.host !== after.metrics.host)) {
    changed.push('metrics.port')
  }
  if (before.metrics.port !== undefined && before.metrics.enabled !== after.metrics.enabled) changed.push('metrics.enabled')
  // The layers and their connections are made once, at start.
  if (JSON.stringify(before.cache) !== JSON.stringify(after.cache)) changed.push('cache')
  if (JSON.stringify(before.rateLimitStore) !== JSON.stringify(after.rateLimitStore)) changed.push('rate_limiting.store')
  if (before.tracing.enabled !== after.tracing.enabled || before.tracing.serviceName !== after.tracing.serviceName) changed.push('tracing')
  if (JSON.stringify(before.admin) !== JSON.stringify(after.admin)) changed.push('admin')
  for (const [name, value] of Object.entries(before.limits)) {
    if (after.limits[name as keyof typeof before.limits] !== value) changed.push(`server.${LIMIT_KEYS[name as keyof typeof before.limits]}`)
  }
  return changed
}

const LIMIT_KEYS = {
  requestTimeout: 'request_timeout',
  maxConcurrentRequests: 'max_concurrent_requests',
  keepAliveTimeout: 'keepalive_timeout',
  maxRequestsPerSocket: 'max_requests_per_socket',
} as const

/** Metrics of the server itself, next to the proxy's. */
function serverMetrics(metrics: YatagarasuMetrics): { success(): void; failure(): void } {
  const { registry } = metrics
  registry.gauge('yatagarasu_build_info', 'Always 1; the version in a label.', ['version']).set({ version: VERSION }, 1)
  registry.gauge('process_start_time_seconds', 'Start time of the process, in seconds since the Unix epoch.').set({}, Math.round(Date.now() / 1000 - process.uptime()))
  registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [], () => [[{}, process.memoryUsage.rss()]])
  const reloads = registry.counter('yatagarasu_config_reloads_total', 'Config reloads (SIGHUP), by result.', ['result'])
  const lastOk = registry.gauge('yatagarasu_config_last_reload_successful', '1 when the last config reload succeeded (or none happened yet), else 0.')
  lastOk.set({}, 1)
  return {
    success() {
      reloads.inc({ result: 'success' })
      lastOk.set({}, 1)
    },
    failure() {
      reloads.inc({ result: 'failure' })
      lastOk.set({}, 0)
    },
  }
}
