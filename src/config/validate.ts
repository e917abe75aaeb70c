import * as v from 'valibot'
import { ConfigError } from '../errors.js'
import { resolveAuth } from './auth-schema.js'
import { resolveCache } from './cache-schema.js'
import { resolveImages } from './images-schema.js'
import { resolveCompression } from './compression-schema.js'
import { resolveRedirect } from './redirect-schema.js'
import { resolveWebsite } from './website-schema.js'
import { defined } from './fields.js'
import { formatPath, issueKeys, issueMessage } from './issues.js'
import { resolveCircuitBreaker, resolveCors, resolveIpFilter, resolveLimits, resolveRateLimit } from './reliability-schema.js'
import { configSchema, normalizePrefix, type S3Config, type YatagarasuConfig } from './schema.js'
import { maskSecretsInJson } from './secrets.js'
import type { ResolvedBucket, ResolvedConfig, ResolvedS3, ResolvedS3Target, S3CredentialsConfig } from './types.js'

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
    throw new ConfigError(result.issues.map((issue) => ({ path: formatPath(issueKeys(issue)), message: issue.message })))
  }
  return resolve(result.output)
}

function resolve(input: YatagarasuConfig): ResolvedConfig {
  const rateLimiting = resolveRateLimit(input.rateLimiting)
  return {
    basePath: normalizePrefix(input.basePath ?? '/'),
    buckets: input.buckets.map(
      (bucket): ResolvedBucket => ({
        name: bucket.name,
        pathPrefix: normalizePrefix(bucket.pathPrefix),
        s3: resolveS3(bucket.s3),
        ...defined({
          auth: resolveAuth(bucket.auth),
          cacheControl: bucket.cacheControl,
          cache: resolveCache(bucket.cache),
          cors: resolveCors(bucket.cors),
          ipFilter: resolveIpFilter(bucket.ipFilter),
          rateLimiting: resolveRateLimit(bucket.rateLimiting),
          images: resolveImages(bucket.images),
          website: resolveWebsite(bucket.website),
          redirect: resolveRedirect(bucket.redirect),
          compression: resolveCompression(bucket.compression),
        }),
      }),
    ),
    ...(rateLimiting && { rateLimiting }),
    limits: resolveLimits(input.limits),
  }
}

function resolveS3(s3: S3Config): ResolvedS3 {
  const timeout = s3.timeout ?? DEFAULT_TIMEOUT_SECONDS
  // With replicas, they are the targets; the plain fields are kept for compatibility
  // with the original's config files but never become an extra target.
  const targets: ResolvedS3Target[] = s3.replicas
    ? s3.replicas
        // A replica without keys of its own signs with the bucket's refreshing credentials.
        .map((replica, index) =>
          resolveTarget(
            replica.accessKey === undefined && s3.credentials !== undefined ? { ...replica, credentials: s3.credentials } : replica,
            replica.name,
            replica.priority ?? index,
            replica.timeout ?? timeout,
          ),
        )
        .sort((a, b) => a.priority - b.priority)
    : [resolveTarget(s3, 'default', 0, timeout)]
  const { name: _name, priority: _priority, ...primary } = targets[0]!
  const resolved: ResolvedS3 = {
    ...primary,
    targets,
    idleTimeoutMs: (s3.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000,
    retries: s3.retries ?? DEFAULT_RETRIES,
    ...defined({ circuitBreaker: resolveCircuitBreaker(s3.circuitBreaker) }),
  }
  return maskSecretsInJson(resolved, SECRET_FIELDS)
}

type TargetFields = {
  bucket: string
  region: string
  endpoint?: string | undefined
  accessKey?: string | undefined
  secretKey?: string | undefined
  sessionToken?: string | undefined
  credentials?: S3CredentialsConfig | undefined
}

function resolveTarget(fields: TargetFields, name: string, priority: number, timeoutSeconds: number): ResolvedS3Target {
  const target: ResolvedS3Target = {
    name,
    priority,
    bucket: fields.bucket,
    region: fields.region,
    // The schema requires the keys unless `credentials` gives them.
    accessKey: fields.accessKey ?? '',
    secretKey: fields.secretKey ?? '',
    ...defined({ endpoint: fields.endpoint?.replace(/\/+$/, ''), sessionToken: fields.sessionToken, credentials: fields.credentials }),
    timeoutMs: timeoutSeconds * 1000,
  }
  return maskSecretsInJson(target, SECRET_FIELDS)
}
