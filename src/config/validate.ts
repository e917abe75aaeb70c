import * as v from 'valibot'
import { ConfigError, type ConfigIssue } from '../errors.js'
import { resolveAuth } from './auth-schema.js'
import { resolveCache } from './cache-schema.js'
import { configSchema, formatPath, issueMessage, type ConfigSchemaOutput } from './schema.js'
import { maskSecretsInJson } from './secrets.js'
import type { ResolvedBucket, ResolvedConfig, ResolvedS3 } from './types.js'

const DEFAULT_TIMEOUT_SECONDS = 30

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
  return {
    basePath: normalizePrefix(input.basePath ?? '/'),
    buckets: input.buckets.map((bucket): ResolvedBucket => {
      const auth = resolveAuth(bucket.auth)
      const cache = resolveCache(bucket.cache)
      return {
        name: bucket.name,
        pathPrefix: normalizePrefix(bucket.pathPrefix),
        s3: resolveS3(bucket.s3),
        ...(auth !== undefined && { auth }),
        ...(cache !== undefined && { cache }),
      }
    }),
  }
}

function resolveS3(s3: ConfigSchemaOutput['buckets'][number]['s3']): ResolvedS3 {
  const resolved: ResolvedS3 = {
    bucket: s3.bucket,
    region: s3.region,
    ...(s3.endpoint !== undefined && { endpoint: s3.endpoint.replace(/\/+$/, '') }),
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    ...(s3.sessionToken !== undefined && { sessionToken: s3.sessionToken }),
    timeoutMs: (s3.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
  }
  return maskSecretsInJson(resolved, ['accessKey', 'secretKey', 'sessionToken'])
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
