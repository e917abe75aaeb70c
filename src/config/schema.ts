/**
 * The config schema. Valibot was chosen because it is small and tree-shakable (only
 * the validators used end up in a bundle), has no dependencies, runs on every JS
 * runtime, and reports every issue at once with its path — which is what a user
 * fixing a config file wants.
 *
 * Messages are written here, never taken from the input: a wrong `secretKey` must
 * not be echoed back in an error.
 */
import * as v from 'valibot'
import { authSchema } from './auth-schema.js'
import { cacheSchema } from './cache-schema.js'
import { imagesSchema } from './images-schema.js'
import {
  circuitBreakerSchema,
  corsSchema,
  fieldPath,
  ipFilterSchema,
  limitsSchema,
  rateLimitingSchema,
} from './reliability-schema.js'

const nonEmpty = v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'))

const seconds = v.pipe(
  v.number(),
  v.check((n) => Number.isFinite(n) && n > 0, 'must be a positive number of seconds'),
)

const httpUrl = v.pipe(
  v.string(),
  v.check(isHttpUrl, 'must be an absolute http(s) URL without query or fragment'),
)

const pathPrefix = v.pipe(
  v.string(),
  v.check((p) => p.startsWith('/'), "must start with '/'"),
  v.check((p) => !/[?#]/.test(p), "must not contain '?' or '#'"),
  v.check((p) => !p.split('/').some((s) => s === '.' || s === '..'), "must not contain '.' or '..' segments"),
)

// reliability: a replica is a complete S3 target of its own.
const replicaSchema = v.object({
  name: nonEmpty,
  bucket: nonEmpty,
  region: nonEmpty,
  endpoint: v.optional(httpUrl),
  accessKey: nonEmpty,
  secretKey: nonEmpty,
  sessionToken: v.optional(nonEmpty),
  priority: v.optional(v.pipe(v.number(), v.check((n) => Number.isSafeInteger(n), 'must be a whole number'))),
  timeout: v.optional(seconds),
})

const replicasSchema = v.pipe(
  v.array(replicaSchema),
  v.minLength(1, 'must list at least one replica; omit it to use the s3 fields'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!Array.isArray(dataset.value)) return
    const seen = new Map<unknown, number>()
    ;(dataset.value as Array<{ name?: unknown } | undefined>).forEach((replica, index) => {
      const first = seen.get(replica?.name)
      if (first === undefined) seen.set(replica?.name, index)
      else addIssue({ message: `duplicates replicas[${first}].name`, path: [{ type: 'array', origin: 'value', input: dataset.value as unknown[], key: index, value: replica }, fieldPath(replica, 'name')] })
    })
  }),
)

/** With `replicas`, they are the S3 targets and the connection fields here are optional (and unused). */
const TARGET_FIELDS = ['bucket', 'region', 'accessKey', 'secretKey'] as const

export const s3Schema = v.pipe(
  v.object({
    bucket: v.optional(nonEmpty),
    region: v.optional(nonEmpty),
    endpoint: v.optional(httpUrl),
    accessKey: v.optional(nonEmpty),
    secretKey: v.optional(nonEmpty),
    sessionToken: v.optional(nonEmpty),
    timeout: v.optional(seconds),
    idleTimeout: v.optional(seconds),
    retries: v.optional(v.pipe(v.number(), v.check((n) => Number.isSafeInteger(n) && n >= 0 && n <= 10, 'must be a whole number from 0 to 10'))),
    circuitBreaker: v.optional(circuitBreakerSchema),
    replicas: v.optional(replicasSchema),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    const value = dataset.value as Record<string, unknown> | null | undefined
    if (typeof value !== 'object' || value === null || value.replicas !== undefined) return
    for (const field of TARGET_FIELDS) {
      if (value[field] === undefined) addIssue({ message: 'required', path: [fieldPath(value, field)] })
    }
  }),
)

export const bucketSchema = v.object({
  name: nonEmpty,
  pathPrefix,
  s3: s3Schema,
  auth: v.optional(authSchema),
  cache: v.optional(cacheSchema),
  cors: v.optional(corsSchema),
  ipFilter: v.optional(ipFilterSchema),
  rateLimiting: v.optional(rateLimitingSchema),
  images: v.optional(imagesSchema),
})

export const configSchema = v.object({
  basePath: v.optional(pathPrefix),
  buckets: v.pipe(v.array(bucketSchema), v.minLength(1, 'at least one bucket is required')),
  rateLimiting: v.optional(rateLimitingSchema),
  limits: v.optional(limitsSchema),
})

export type ConfigSchemaOutput = v.InferOutput<typeof configSchema>

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false
  const url = new URL(value)
  return (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash && !url.username
}

/** A readable message for a valibot issue that never contains the offending value. */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.input === undefined && issue.kind === 'schema') return 'required'
  if (issue.kind === 'schema') return `expected ${issue.expected ?? 'a different type'}`
  return 'invalid value'
}

/** `['buckets', 1, 's3', 'region']` → `buckets[1].s3.region`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${String(key)}` : String(key)
  }
  return out
}
