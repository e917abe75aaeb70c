/**
 * The standalone server's own config blocks — `server`, `logging`, `metrics`, `health`,
 * `shutdown`, `audit_log`, `cache` (cache-settings.ts) — validated by `parseConfig` together with the buckets (so every problem
 * is listed at once, with its line), then resolved to {@link ServerSettings}.
 */
import * as v from 'valibot'
import type { ParsedConfig } from '../config/parse.js'
import type { ConfigIssue } from '../errors.js'
import type { LogFormat, LogLevel } from '../logging/line-logger.js'
import { SERVER_LIMIT_DEFAULTS } from '../adapters/node.js'
import { nonEmpty, numberField, seconds } from '../config/fields.js'
import { cacheBlock, checkCacheSettings, resolveCacheSettings, resolveRateLimitStore, type CacheSettings, type RateLimitStoreSettings } from './cache-settings.js'
import type { TracingSettings } from './tracing.js'

export interface ServerSettings {
  /** Interface to listen on. Default `0.0.0.0`. */
  readonly host: string
  /** Default 8080; 0 picks a free port. */
  readonly port: number
  readonly logging: { readonly level: LogLevel; readonly format: LogFormat }
  readonly metrics: {
    readonly enabled: boolean
    readonly path: string
    /** A port of its own; `undefined` serves metrics on the main port. */
    readonly port: number | undefined
    /** Interface of the metrics port. Default: the server's. */
    readonly host: string
  }
  readonly health: { readonly enabled: boolean; readonly path: string; readonly readyPath: string }
  /** How long in-flight requests may take to finish on SIGTERM/SIGINT. */
  readonly shutdownTimeoutMs: number
  /** Connection limits, as `serve()` of `yatagarasu/node` takes them (seconds). */
  readonly limits: ServerLimits
  /** Where authorization decisions are written, one JSON line each; off by default. */
  readonly auditLog: AuditLogSettings
  /** The top-level `cache` block: layers shared by every bucket; `undefined`: a memory store per bucket. */
  readonly cache: CacheSettings | undefined
  /** Where rate-limit token buckets live (`rate_limiting.store`). */
  readonly rateLimitStore: RateLimitStoreSettings
  /** OpenTelemetry spans exported as OTLP over HTTP (`OTEL_*` variables); off by default. */
  readonly tracing: TracingSettings
  /** The admin API (`admin`): off by default. */
  readonly admin: { readonly enabled: false } | { readonly enabled: true; readonly token: string }
}

export type AuditLogSettings =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly output: 'stdout' | 'stderr' }
  | { readonly enabled: true; readonly output: 'file'; readonly filePath: string }

/** The `server` block's connection limits, in `serve()`'s names and units (seconds). */
export interface ServerLimits {
  readonly requestTimeout: number
  readonly maxConcurrentRequests: number
  readonly keepAliveTimeout: number
  readonly maxRequestsPerSocket: number
}

export const DEFAULT_HOST = '0.0.0.0'
export const DEFAULT_PORT = 8080
export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 30

const port = numberField({ min: 0, max: 65535, whole: true, noun: 'port number' })
const host = v.pipe(
  v.string(),
  v.check((h) => /^(?:\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9.-]+)$/.test(h), 'must be a host name or an IP address'),
)
/** `host:port`, `host`, `:port`, `[v6]:port`. */
const address = v.pipe(
  v.string(),
  v.check((a) => parseAddress(a) !== undefined, 'must be "host:port", "host" or ":port" (IPv6 in brackets)'),
)
const opsPath = v.pipe(
  v.string(),
  v.check((p) => p.startsWith('/'), "must start with '/'"),
  v.check((p) => !/[?#\s]/.test(p), 'must be a plain path (no query, fragment or spaces)'),
)
const count = (min: number) => numberField({ min, whole: true })

/** The schemas, for `parseConfig(text, env, { blocks })`. */
export const serverBlocks = {
  server: v.optional(
    v.object({
      address: v.optional(address),
      host: v.optional(host),
      port: v.optional(port),
      requestTimeout: v.optional(seconds),
      maxConcurrentRequests: v.optional(count(1)),
      keepaliveTimeout: v.optional(seconds),
      maxRequestsPerSocket: v.optional(count(0)),
    }),
  ),
  logging: v.optional(
    v.object({
      level: v.optional(v.picklist(['trace', 'debug', 'info', 'warn', 'error'], 'must be one of trace, debug, info, warn, error')),
      format: v.optional(v.picklist(['json', 'text'], 'must be json or text')),
    }),
  ),
  metrics: v.optional(
    v.object({
      enabled: v.optional(v.boolean()),
      path: v.optional(opsPath),
      port: v.optional(port),
      host: v.optional(host),
    }),
  ),
  health: v.optional(
    v.object({
      enabled: v.optional(v.boolean()),
      path: v.optional(opsPath),
      readyPath: v.optional(opsPath),
    }),
  ),
  shutdown: v.optional(v.object({ timeoutSeconds: v.optional(numberField({ min: 0, unit: 'seconds' })) })),
  auditLog: v.optional(
    v.object({
      enabled: v.optional(v.boolean()),
      output: v.optional(v.picklist(['stdout', 'stderr', 'file'], 'must be stdout, stderr or file')),
      filePath: v.optional(nonEmpty),
    }),
  ),
  cache: cacheBlock,
  tracing: v.optional(
    v.object({
      enabled: v.optional(v.boolean()),
      serviceName: v.optional(nonEmpty),
    }),
  ),
  admin: v.optional(
    v.object({
      enabled: v.optional(v.boolean()),
      token: v.optional(v.string()),
    }),
  ),
}

type Blocks = { [K in keyof typeof serverBlocks]: v.InferOutput<(typeof serverBlocks)[K]> }

export interface SettingsOverrides {
  port?: number
  host?: string
}

/** The settings of a config that `parseConfig` validated with {@link serverBlocks}; CLI flags win. */
export function resolveServerSettings(config: ParsedConfig, overrides: SettingsOverrides = {}): ServerSettings {
  const blocks = config as unknown as Partial<Blocks>
  const server = blocks.server ?? {}
  const fromAddress = server.address !== undefined ? parseAddress(server.address) : undefined
  const hostname = overrides.host ?? server.host ?? fromAddress?.host ?? DEFAULT_HOST
  const metrics = blocks.metrics ?? {}
  const health = blocks.health ?? {}
  return {
    host: hostname,
    port: overrides.port ?? server.port ?? fromAddress?.port ?? DEFAULT_PORT,
    logging: {
      level: blocks.logging?.level === 'trace' ? 'debug' : (blocks.logging?.level ?? 'info'),
      format: blocks.logging?.format ?? 'json',
    },
    metrics: {
      enabled: metrics.enabled ?? true,
      path: metrics.path ?? '/metrics',
      port: metrics.port,
      host: metrics.host ?? hostname,
    },
    health: {
      enabled: health.enabled ?? true,
      path: health.path ?? '/health',
      readyPath: health.readyPath ?? '/ready',
    },
    shutdownTimeoutMs: (blocks.shutdown?.timeoutSeconds ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS) * 1000,
    limits: {
      requestTimeout: server.requestTimeout ?? SERVER_LIMIT_DEFAULTS.requestTimeout,
      maxConcurrentRequests: server.maxConcurrentRequests ?? SERVER_LIMIT_DEFAULTS.maxConcurrentRequests,
      keepAliveTimeout: server.keepaliveTimeout ?? SERVER_LIMIT_DEFAULTS.keepAliveTimeout,
      maxRequestsPerSocket: server.maxRequestsPerSocket ?? SERVER_LIMIT_DEFAULTS.maxRequestsPerSocket,
    },
    auditLog: auditLogSettings(blocks.auditLog),
    cache: resolveCacheSettings(config),
    rateLimitStore: resolveRateLimitStore(config),
    tracing: { enabled: blocks.tracing?.enabled ?? false, serviceName: blocks.tracing?.serviceName ?? 'yatagarasu' },
    admin: blocks.admin?.enabled === true && blocks.admin.token !== undefined && blocks.admin.token !== '' ? { enabled: true, token: blocks.admin.token } : { enabled: false },
  }
}

/** A present `audit_log` block is on unless `enabled: false`; `file_path` alone means `output: file`. */
function auditLogSettings(block: Blocks['auditLog']): AuditLogSettings {
  if (block === undefined || block.enabled === false) return { enabled: false }
  const output = block.output ?? (block.filePath !== undefined ? 'file' : 'stdout')
  if (output === 'file') return { enabled: true, output, filePath: block.filePath ?? '' }
  return { enabled: true, output }
}

/**
 * Checks across the server blocks (for `parseConfig`'s `check`, which adds the lines):
 * a port or host given twice differently, two operational routes on one path, metrics
 * on the server's own port.
 */
export function checkServerBlocks(config: ParsedConfig): ConfigIssue[] {
  const blocks = config as unknown as Partial<Blocks>
  const server = blocks.server ?? {}
  const fromAddress = server.address !== undefined ? parseAddress(server.address) : undefined
  const issues: ConfigIssue[] = checkCacheSettings(config)
  if (fromAddress?.port !== undefined && server.port !== undefined && fromAddress.port !== server.port) {
    issues.push({ path: 'server.port', message: 'differs from the port in server.address; give it once' })
  }
  if (fromAddress?.host !== undefined && server.host !== undefined && fromAddress.host !== server.host) {
    issues.push({ path: 'server.host', message: 'differs from the host in server.address; give it once' })
  }
  const settings = resolveServerSettings(config)
  const seen = new Map<string, string>()
  for (const [name, path] of operationRoutes(settings)) {
    const other = seen.get(path)
    if (other !== undefined) issues.push({ path: name, message: `is the same path as ${other}` })
    else seen.set(path, name)
  }
  const audit = blocks.auditLog
  if (audit !== undefined && audit.enabled !== false) {
    if (audit.output === 'file' && audit.filePath === undefined) issues.push({ path: 'auditLog.filePath', message: 'required with output: file' })
    if (audit.output !== undefined && audit.output !== 'file' && audit.filePath !== undefined) {
      issues.push({ path: 'auditLog.filePath', message: `is only used with output: file (output is ${audit.output})` })
    }
  }
  if (blocks.admin?.enabled === true && (blocks.admin.token === undefined || blocks.admin.token.trim() === '')) {
    issues.push({ path: 'admin.token', message: 'required when admin is enabled (a bearer token, e.g. "${ADMIN_TOKEN}")' })
  }
  const metricsPort = settings.metrics.port
  if (settings.metrics.enabled && metricsPort !== undefined && metricsPort !== 0 && metricsPort === settings.port) {
    issues.push({ path: 'metrics.port', message: 'is the server port; leave it out to serve metrics on the same port' })
  }
  return issues
}

/** The operational routes served on the main port, `[setting, path]`. */
export function operationRoutes(settings: ServerSettings): Array<[string, string]> {
  const routes: Array<[string, string]> = []
  if (settings.health.enabled) routes.push(['health.path', settings.health.path], ['health.readyPath', settings.health.readyPath])
  if (settings.metrics.enabled && settings.metrics.port === undefined) routes.push(['metrics.path', settings.metrics.path])
  return routes
}

/** `"0.0.0.0:8080"` → `{ host: '0.0.0.0', port: 8080 }`; `"[::1]:80"`, `":80"`, `"localhost"` too. */
export function parseAddress(text: string): { host?: string; port?: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*))(?::(\d{1,5}))?$/.exec(text.trim())
  if (match === null) return undefined
  const hostPart = match[1] ?? match[2]
  const portPart = match[3]
  if (!hostPart && portPart === undefined) return undefined
  const portNumber = portPart === undefined ? undefined : Number(portPart)
  if (portNumber !== undefined && portNumber > 65535) return undefined
  return { ...(hostPart ? { host: hostPart } : {}), ...(portNumber !== undefined ? { port: portNumber } : {}) }
}
