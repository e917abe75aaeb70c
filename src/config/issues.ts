/** Valibot issues as `ConfigIssue`s: paths, and messages that never contain a value. */
import type * as v from 'valibot'

/** A path item for `addIssue` in a raw check on an object. */
export function fieldPath(input: unknown, key: string): v.ObjectPathItem {
  return { type: 'object', origin: 'value', input: input as Record<string, unknown>, key, value: (input as Record<string, unknown> | undefined)?.[key] }
}

/** A readable message for a valibot issue that never contains the offending value. */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.input === undefined && issue.kind === 'schema') return 'required'
  if (issue.kind === 'schema') return `expected ${issue.expected ?? 'a different type'}`
  return 'invalid value'
}

/** The keys of an issue's path: `['buckets', 1, 's3', 'region']`. */
export function issueKeys(issue: v.BaseIssue<unknown>): Array<string | number> {
  return issue.path?.map((item) => item.key as string | number) ?? []
}

/** `['buckets', 1, 's3', 'region']` → `buckets[1].s3.region`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key)
  return out
}
