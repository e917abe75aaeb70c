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

export const s3Schema = v.object({
  bucket: nonEmpty,
  region: nonEmpty,
  endpoint: v.optional(httpUrl),
  accessKey: nonEmpty,
  secretKey: nonEmpty,
  sessionToken: v.optional(nonEmpty),
  timeout: v.optional(seconds),
})

export const bucketSchema = v.object({
  name: nonEmpty,
  pathPrefix,
  s3: s3Schema,
  auth: v.optional(authSchema),
  cache: v.optional(cacheSchema),
})

export const configSchema = v.object({
  basePath: v.optional(pathPrefix),
  buckets: v.pipe(v.array(bucketSchema), v.minLength(1, 'at least one bucket is required')),
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
