/**
 * Prewarm: list a bucket's keys under a prefix (ListObjectsV2, the bucket's credentials)
 * and fill the cache with them, a few at a time, through the same cache and S3 code
 * as requests (routing → cache → s3Origin: single-flight, size limits, streamed
 * writes). Authentication, rate limits and the other request checks are not in that
 * chain: prewarming is an operator's action, and what it caches is still only served
 * after each request's own checks (auth comes before the cache). Runtime-neutral.
 */
import { compose } from '../compose.js'
import type { YatagarasuCache } from '../cache/create-cache.js'
import { narrowConfig, resolveConfig } from '../config/resolve.js'
import type { ResolvedConfig, YatagarasuConfig } from '../config/types.js'
import { NotFoundError } from '../errors.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { cache as cacheMiddleware } from '../middleware/cache.js'
import { routing } from '../middleware/routing.js'
import { s3Origin } from '../middleware/s3-origin.js'
import { encodeKey } from '../routing/object-key.js'
import { bucketCredentials } from '../s3/bucket-credentials.js'
import type { CredentialsRuntime } from '../s3/credential-providers.js'
import { targetSigner, type FetchFunction } from '../s3/s3-client.js'
import { listObjects } from './list-objects.js'

export interface PrewarmOptions {
  /** The bucket's `name` in the config; it must have `cache` enabled. */
  bucket: string
  /** Only keys starting with it (`img/`). Default: every key. */
  prefix?: string
  /** Objects fetched at once. Default 4. */
  concurrency?: number
  /** Aborting it stops the listing and the transfers in progress. */
  signal?: AbortSignal
  /** How S3 is reached (see `S3OriginOptions.fetch`). Default `globalThis.fetch`. */
  fetch?: FetchFunction
  /** What the built-in `s3.credentials` providers read (see `S3OriginOptions.credentialsRuntime`). Default: none. */
  credentialsRuntime?: CredentialsRuntime
  /** Where S3 and cache store failures are reported. Default: {@link consoleLogger}. */
  logger?: Logger
  /** Told after each object is cached, with the totals so far. */
  onProgress?: (progress: PrewarmProgress) => void
}

export interface PrewarmProgress {
  /** Objects read through the cache (already cached ones included). */
  readonly objects: number
  /** Their bytes. */
  readonly bytes: number
}

export const DEFAULT_PREWARM_CONCURRENCY = 4
const ORIGIN = 'http://prewarm.invalid'

/**
 * Fills `cache` with the objects of one bucket under a prefix. Objects larger than the
 * bucket's `maxItemSize` are skipped (the cache would not keep them). Resolves with
 * the totals; rejects when the listing fails or `signal` aborts. A single object that
 * fails (gone meanwhile, S3 error) is skipped.
 *
 * @example
 * const cache = createCache()
 * const handler = createYatagarasu(config, { cache })
 * await prewarmCache(config, cache, { bucket: 'cdn', prefix: 'img/' })
 */
export async function prewarmCache(config: YatagarasuConfig | ResolvedConfig, cache: YatagarasuCache, options: PrewarmOptions): Promise<PrewarmProgress> {
  const resolved = resolveConfig(config)
  const bucket = resolved.buckets.find((candidate) => candidate.name === options.bucket)
  if (bucket === undefined) throw new NotFoundError(`No bucket named ${JSON.stringify(options.bucket)}`)
  if (bucket.cache === undefined) throw new NotFoundError(`Bucket ${JSON.stringify(options.bucket)} has no cache`)
  const logger = options.logger ?? consoleLogger
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const signal = options.signal ?? new AbortController().signal
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_PREWARM_CONCURRENCY))
  const maxItemSize = bucket.cache.maxItemSize
  // Only this bucket, at the root: a basePath or other buckets' prefixes play no part.
  const only = narrowConfig(resolved, { basePath: '', buckets: [{ ...bucket, pathPrefix: '' }] })
  const runtime = options.credentialsRuntime
  const fill = compose(routing(only), cacheMiddleware(only, { cache, logger }), s3Origin(only, { fetch: fetchImpl, logger, ...(runtime && { credentialsRuntime: runtime }) }))
  // The listing signs like the object requests: the primary target's keys, or the bucket's current credentials.
  const primary = bucket.s3.targets[0]!
  const signer = targetSigner(primary, primary.credentials !== undefined ? bucketCredentials(bucket.s3, { bucket: bucket.name, logger, credentialsRuntime: runtime }) : undefined)

  let objects = 0
  let bytes = 0
  const one = async (key: string) => {
    const path = `/${encodeKey(key)}`
    const response = await fill(new Request(ORIGIN + path, { signal }), { rawPath: path })
    if (response.status !== 200) {
      await response.body?.cancel()
      return
    }
    let size = 0
    const reader = response.body!.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
    }
    objects++
    bytes += size
    options.onProgress?.({ objects, bytes })
  }

  for await (const page of listObjects(primary, options.prefix ?? '', fetchImpl, signal, signer)) {
    const keys = page.filter((object) => object.size <= maxItemSize && !object.key.endsWith('/')).map((object) => object.key)
    let next = 0
    await Promise.all(
      Array.from({ length: Math.min(concurrency, keys.length) }, async () => {
        while (next < keys.length) {
          signal.throwIfAborted()
          const key = keys[next++]!
          try {
            await one(key)
          } catch (error) {
            if (signal.aborted) throw error
            logger.warn('prewarm: an object could not be cached; skipped', { bucket: bucket.name, error: error instanceof Error ? error.name : 'error' })
          }
        }
      }),
    )
    signal.throwIfAborted()
  }
  return { objects, bytes }
}
