/**
 * The admin API: purge, cache stats, prewarm (with status and cancel) and reload, as
 * JSON routes behind a bearer token. Runtime-neutral: the standalone server serves it
 * (`admin.enabled`), and an embedder can route to it in front of the proxy.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { YatagarasuCache } from '../cache/create-cache.js'
import { compose } from '../compose.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { resolveConfig } from '../config/resolve.js'
import type { FetchHandler, RequestContext } from '../context.js'
import { BadRequestError, HttpError, isYatagarasuError, MethodNotAllowedError, NotFoundError, UnauthorizedError } from '../errors.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { describeError } from '../logging/describe-error.js'
import { readTextBounded } from '../net/read-bounded.js'
import type { FetchFunction } from '../s3/s3-client.js'
import type { CredentialsRuntime } from '../s3/credential-providers.js'
import { DEFAULT_PREWARM_CONCURRENCY, prewarmCache } from './prewarm.js'

export interface AdminApiOptions {
  /** Required as `Authorization: Bearer <token>` on every route (401 otherwise). Never logged. */
  token: string
  /** The cache the proxy uses (`createYatagarasu(config, { cache })`). */
  cache: YatagarasuCache
  /** The config in force, read at each request (a reload may change it). */
  config: () => YatagarasuConfig | ResolvedConfig
  /** How S3 is reached for prewarms. Default `globalThis.fetch`. */
  fetch?: FetchFunction
  /** What the built-in `s3.credentials` providers read for prewarms, as the handler's option. Default: none. */
  credentialsRuntime?: CredentialsRuntime
  /** `POST /admin/reload` calls it; resolves whether the new config is in force. Without it the route is 404. */
  reload?: () => Promise<boolean>
  /** Where admin actions are logged (never the token). Default: {@link consoleLogger}. */
  logger?: Logger
  /** Finished prewarm jobs kept for `GET`, the oldest dropped beyond it. Default 100. */
  maxJobs?: number
}

export type PrewarmState = 'running' | 'done' | 'failed' | 'cancelled'

/** A prewarm job as `GET /admin/cache/prewarm/{id}` shows it. */
export interface PrewarmJob {
  readonly id: string
  readonly bucket: string
  readonly prefix: string
  readonly state: PrewarmState
  readonly objects: number
  readonly bytes: number
  /** Why it failed (a code, never S3's answer). */
  readonly error?: string
}

export interface AdminApi {
  /** True for the paths of the admin routes (they take precedence over bucket routes). */
  handles(path: string): boolean
  /** Answers an admin route; errors are JSON, as the proxy's. */
  readonly fetch: FetchHandler
  /** Starts a prewarm job (what `POST /admin/cache/prewarm` does); rejects for an unknown or uncached bucket. */
  prewarm(bucket: string, prefix?: string, concurrency?: number): PrewarmJob
  /** A job by id. */
  job(id: string): PrewarmJob | undefined
  /** Cancels a running job; returns it (undefined when unknown). */
  cancel(id: string): PrewarmJob | undefined
  /** Cancels every running prewarm (on shutdown). */
  close(): void
}

const ROUTE = /^\/admin\/(?:cache\/(?:purge(?:\/.*)?|stats|prewarm(?:\/[^/]+)?)|reload)$/
const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }

/**
 * The routes (JSON in and out):
 * - `POST /admin/cache/purge` — everything; `POST /admin/cache/purge/{bucket}` — one
 *   bucket (`?prefix=P`: keys under P); `POST /admin/cache/purge/{bucket}/{key}` — one
 *   key. `200 {"purged": N}` (`null` where a store can't count).
 * - `GET /admin/cache/stats` — per layer and per bucket: entries, bytes, hits, misses.
 * - `POST /admin/cache/prewarm` `{"bucket", "prefix"?, "concurrency"?}` → `202 {"id"}`;
 *   `GET /admin/cache/prewarm/{id}` → the job; `DELETE` cancels it.
 * - `POST /admin/reload` — as SIGHUP.
 *
 * @example
 * const admin = adminApi({ token: env.ADMIN_TOKEN, cache, config: () => config })
 * const proxy = createYatagarasu(config, { cache })
 * Bun.serve({ fetch: (req) => (admin.handles(new URL(req.url).pathname) ? admin.fetch(req) : proxy(req)) })
 */
export function adminApi(options: AdminApiOptions): AdminApi {
  if (typeof options.token !== 'string' || options.token === '') throw new TypeError('adminApi: a token is required')
  const expected = sha256(new TextEncoder().encode(options.token))
  const logger = options.logger ?? consoleLogger
  const maxJobs = options.maxJobs ?? 100
  const jobs = new Map<string, { job: PrewarmJob; controller: AbortController }>()

  function update(id: string, change: Partial<PrewarmJob>): void {
    const found = jobs.get(id)
    if (found !== undefined) found.job = { ...found.job, ...change }
  }

  function bucketNamed(name: string): void {
    const bucket = resolveConfig(options.config()).buckets.find((candidate) => candidate.name === name)
    if (bucket === undefined) throw new NotFoundError(`No bucket named ${JSON.stringify(name)}`)
    if (bucket.cache === undefined) throw new NotFoundError(`Bucket ${JSON.stringify(name)} has no cache`)
  }

  const api: AdminApi = {
    handles: (path) => ROUTE.test(path),
    fetch: compose(async (ctx) => {
      if (!authorized(ctx.request.headers.get('authorization'), expected)) {
        throw new UnauthorizedError('A valid admin token is required', { headers: { 'WWW-Authenticate': 'Bearer realm="yatagarasu-admin"' } })
      }
      return route(ctx)
    }),
    prewarm(bucket, prefix = '', concurrency = DEFAULT_PREWARM_CONCURRENCY) {
      bucketNamed(bucket)
      const id = crypto.randomUUID()
      const controller = new AbortController()
      jobs.set(id, { job: { id, bucket, prefix, state: 'running', objects: 0, bytes: 0 }, controller })
      for (const [old, { job }] of jobs) {
        if (jobs.size <= maxJobs) break
        if (job.state !== 'running') jobs.delete(old)
      }
      prewarmCache(options.config(), options.cache, {
        bucket,
        prefix,
        concurrency,
        signal: controller.signal,
        logger,
        ...(options.fetch && { fetch: options.fetch }),
        ...(options.credentialsRuntime && { credentialsRuntime: options.credentialsRuntime }),
        onProgress: (progress) => update(id, progress),
      }).then(
        (totals) => {
          update(id, { ...totals, state: 'done' })
          logger.info('admin: prewarm done', { id, bucket, objects: totals.objects, bytes: totals.bytes })
        },
        (error: unknown) => {
          if (controller.signal.aborted) return update(id, { state: 'cancelled' })
          const code = error instanceof HttpError ? error.code : 'InternalError'
          update(id, { state: 'failed', error: code })
          logger.warn('admin: prewarm failed', { id, bucket, error: describeError(error) })
        },
      )
      return jobs.get(id)!.job
    },
    job: (id) => jobs.get(id)?.job,
    cancel(id) {
      const found = jobs.get(id)
      if (found === undefined) return undefined
      if (found.job.state === 'running') {
        found.controller.abort()
        update(id, { state: 'cancelled' })
      }
      return jobs.get(id)!.job
    },
    close() {
      for (const id of jobs.keys()) api.cancel(id)
    },
  }

  async function route(ctx: RequestContext): Promise<Response> {
    const path = pathOf(ctx.rawPath)
    const method = ctx.method
    const allow = (...methods: string[]) => {
      if (!methods.includes(method)) throw new MethodNotAllowedError(`Use ${methods.join(' or ')}`, { headers: { Allow: methods.join(', ') } })
    }
    if (path === '/admin/cache/stats') {
      allow('GET')
      return json(200, options.cache.stats())
    }
    if (path === '/admin/reload') {
      if (options.reload === undefined) throw new NotFoundError('No route for this path')
      allow('POST')
      logger.info('admin: reload')
      const reloaded = await options.reload()
      return json(reloaded ? 200 : 500, { reloaded })
    }
    if (path === '/admin/cache/prewarm') {
      allow('POST')
      const body = await readJson(ctx.request)
      const { bucket, prefix, concurrency } = body as Record<string, unknown>
      if (typeof bucket !== 'string' || bucket === '') throw new BadRequestError('"bucket" is required (a bucket name)')
      if (prefix !== undefined && typeof prefix !== 'string') throw new BadRequestError('"prefix" must be a string')
      if (concurrency !== undefined && !(Number.isInteger(concurrency) && (concurrency as number) >= 1 && (concurrency as number) <= 64)) {
        throw new BadRequestError('"concurrency" must be a whole number from 1 to 64')
      }
      const job = api.prewarm(bucket, prefix ?? '', (concurrency as number | undefined) ?? DEFAULT_PREWARM_CONCURRENCY)
      logger.info('admin: prewarm started', { id: job.id, bucket, prefix: job.prefix })
      return json(202, { id: job.id })
    }
    if (path.startsWith('/admin/cache/prewarm/')) {
      allow('GET', 'DELETE')
      const id = decode(path.slice('/admin/cache/prewarm/'.length))
      const job = method === 'DELETE' ? api.cancel(id) : api.job(id)
      if (job === undefined) throw new NotFoundError('No prewarm job with this id')
      if (method === 'DELETE') logger.info('admin: prewarm cancelled', { id })
      return json(200, job)
    }
    // /admin/cache/purge[/{bucket}[/{key}]]
    allow('POST')
    const rest = path.slice('/admin/cache/purge'.length)
    if (rest === '' || rest === '/') {
      logger.info('admin: purge', { scope: 'all' })
      return json(200, { purged: await counted(options.cache.purge({})) })
    }
    const slash = rest.indexOf('/', 1)
    const bucket = decode(slash === -1 ? rest.slice(1) : rest.slice(1, slash))
    bucketNamed(bucket)
    if (slash !== -1 && slash < rest.length - 1) {
      const key = decode(rest.slice(slash + 1))
      logger.info('admin: purge', { scope: 'key', bucket })
      return json(200, { purged: await counted(options.cache.purge({ bucket, key })) })
    }
    const prefix = ctx.url.searchParams.get('prefix')
    logger.info('admin: purge', { scope: prefix === null ? 'bucket' : 'prefix', bucket })
    return json(200, { purged: await counted(options.cache.purge(prefix === null ? { bucket } : { bucket, prefix })) })
  }

  return api
}

/** Compares the token's SHA-256 with the expected one in constant time (equal lengths, no early exit). */
function authorized(header: string | null, expected: Uint8Array): boolean {
  const match = header === null ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  const given = sha256(new TextEncoder().encode(match?.[1] ?? ''))
  let difference = match === null ? 1 : 0
  for (let i = 0; i < expected.length; i++) difference |= expected[i]! ^ given[i]!
  return difference === 0
}

/** The count, or `null` where a store can't count. */
async function counted(purge: Promise<number>): Promise<number | null> {
  const count = await purge
  return Number.isFinite(count) ? count : null
}

/** Admin bodies are a few names: a larger one is refused while it is read, never held. */
const MAX_BODY_BYTES = 64 * 1024

async function readJson(request: Request): Promise<unknown> {
  let value: unknown
  try {
    value = JSON.parse(await readTextBounded(request, MAX_BODY_BYTES))
  } catch (error) {
    if (isYatagarasuError(error, 'RemoteDocumentTooLarge')) throw new BadRequestError(`The body must be at most ${MAX_BODY_BYTES} bytes`)
    throw new BadRequestError('The body must be JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRequestError('The body must be a JSON object')
  return value
}

function pathOf(rawPath: string): string {
  const query = rawPath.indexOf('?')
  return query === -1 ? rawPath : rawPath.slice(0, query)
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new BadRequestError('The path is not valid percent-encoding')
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS })
}
