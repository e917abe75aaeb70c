import * as v from 'valibot'
import { ConfigError, type ConfigIssue } from '../errors.js'
import { resolveAuth } from './auth-schema.js'
import { resolveCache } from './cache-schema.js'
import { resolveImages } from './images-schema.js'
import { configSchema, formatPath, issueMessage, type ConfigSchemaOutput } from './schema.js'
import {
  resolveCircuitBreaker,
  resolveCors,
  resolveIpFilter,
  resolveLimits,
  resolveRateLimit,
} from './reliability-schema.js'
import { maskSecretsInJson } from './secrets.js'
import type { ResolvedBucket, ResolvedConfig, ResolvedS3, ResolvedS3Target } from './types.js'

const DEFAULT_TIMEOUT_SECONDS = 30
const DEFAULT_IDLE_TIMEOUT_SECONDS = 30
const DEFAULT_RETRIES = 0
const SECRET_FIELDS = ['accessKey', 'secretKey', 'sessionToken'] as const

/**
 * Validates a config object once, at creation, and returns it resolved (defaults
 * applied, prefixes normalised). Throws a {@link ConfigError} listing every problem.
 */
export function validateConfig(input: unknown): ResolvedConfig {
  const result = v.safeParse(configSchema, input, { abortEarly: false, message: issueMessage })
  if (!result.success) {
    throw new ConfigError(
      result.issues.map((issue) => ({
        path: formatPath(issue.path?.map((item) => item.key as PropertyKey) ?? []),
        message: issue.message,
      })),
    )
  }
  const config = resolve(result.output)
  const issues = crossCheck(config)
  if (issues.length > 0) throw new ConfigError(issues)
  return config
}

function resolve(input: ConfigSchemaOutput): ResolvedConfig {
  const rateLimiting = resolveRateLimit(input.rateLimiting)
  return {
    basePath: normalizePrefix(input.basePath ?? '/'),
    buckets: input.buckets.map((bucket): ResolvedBucket => {
      const auth = resolveAuth(bucket.auth)
      const cache = resolveCache(bucket.cache)
      const cors = resolveCors(bucket.cors)
      const ipFilter = resolveIpFilter(bucket.ipFilter)
      const bucketRateLimiting = resolveRateLimit(bucket.rateLimiting)
      const images = resolveImages(bucket.images)
      return {
        name: bucket.name,
        pathPrefix: normalizePrefix(bucket.pathPrefix),
        s3: resolveS3(bucket.s3),
        ...(auth !== undefined && { auth }),
        ...(cache !== undefined && { cache }),
        ...(cors !== undefined && { cors }),
        ...(ipFilter !== undefined && { ipFilter }),
        ...(bucketRateLimiting !== undefined && { rateLimiting: bucketRateLimiting }),
        ...(images !== undefined && { images }),
      }
    }),
    ...(rateLimiting && { rateLimiting }),
    limits: resolveLimits(input.limits),
  }
}

type S3Output = ConfigSchemaOutput['buckets'][number]['s3']

function resolveS3(s3: S3Output): ResolvedS3 {
  const timeout = s3.timeout ?? DEFAULT_TIMEOUT_SECONDS
  // With replicas, they are the targets; the plain fields are kept for compatibility
  // with the original's config files but never become an extra target.
  const targets: ResolvedS3Target[] = s3.replicas
    ? s3.replicas
        .map((replica, index) => resolveTarget(replica, replica.name, replica.priority ?? index, replica.timeout ?? timeout))
        .sort((a, b) => a.priority - b.priority)
    : [resolveTarget(s3 as Required<Pick<S3Output, 'bucket' | 'region' | 'accessKey' | 'secretKey'>> & S3Output, 'default', 0, timeout)]
  const { name: _name, priority: _priority, ...primary } = targets[0]!
  const circuitBreaker = resolveCircuitBreaker(s3.circuitBreaker)
  const resolved: ResolvedS3 = {
    ...primary,
    targets,
    idleTimeoutMs: (s3.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000,
    retries: s3.retries ?? DEFAULT_RETRIES,
    ...(circuitBreaker !== undefined && { circuitBreaker }),
  }
  return maskSecretsInJson(resolved, SECRET_FIELDS)
}

function resolveTarget(
  fields: { bucket: string; region: string; endpoint?: string | undefined; accessKey: string; secretKey: string; sessionToken?: string | undefined },
  name: string,
  priority: number,
  timeoutSeconds: number,
): ResolvedS3Target {
  const target: ResolvedS3Target = {
    name,
    priority,
    bucket: fields.bucket,
    region: fields.region,
    ...(fields.endpoint !== undefined && { endpoint: fields.endpoint.replace(/\/+$/, '') }),
    accessKey: fields.accessKey,
    secretKey: fields.secretKey,
    ...(fields.sessionToken !== undefined && { sessionToken: fields.sessionToken }),
    timeoutMs: timeoutSeconds * 1000,
  }
  return maskSecretsInJson(target, SECRET_FIELDS)
}

/** `/cdn/` → `/cdn`, `/` → `''`. Prefixes are literal (decoded) path text. */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '')
}

function crossCheck(config: ResolvedConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const names = new Map<string, number>()
  const prefixes = new Map<string, number>()
  config.buckets.forEach((bucket, index) => {
    const sameName = names.get(bucket.name)
    if (sameName !== undefined) {
      issues.push({ path: `buckets[${index}].name`, message: `duplicates buckets[${sameName}].name` })
    } else names.set(bucket.name, index)
    const samePrefix = prefixes.get(bucket.pathPrefix)
    if (samePrefix !== undefined) {
      issues.push({ path: `buckets[${index}].pathPrefix`, message: `duplicates buckets[${samePrefix}].pathPrefix` })
    } else prefixes.set(bucket.pathPrefix, index)
  })
  return issues
}
