/**
 * Schema and resolution of a bucket's `website` block: index documents for "directory"
 * paths and a fallback document for missing keys (single-page apps).
 */
import * as v from 'valibot'
import { findKeyProblem } from '../routing/object-key.js'

/** A bucket's website settings after validation; only present when one of them is set. */
export interface ResolvedWebsite {
  /** Appended to a key ending in `/` and used for the bucket root, e.g. `index.html`. */
  readonly indexDocument?: string
  /** The key served (status 200) in place of a key S3 reports missing, e.g. `index.html`. */
  readonly fallbackDocument?: string
}

/** A document name: a relative key with no empty, `.` or `..` segment, no NUL. */
const documentName = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.check(
    (name) => findKeyProblem(name) === undefined && !name.split('/').includes(''),
    "must be a key of this bucket: no leading or trailing '/', no '.', '..' or empty segments",
  ),
)

/** A bucket's `website` block (YAML: `index_document`, `fallback_document`). */
export const websiteSchema = v.object({
  /**
   * Served for a path ending in `/` (`docs/` → `docs/index.html`) and for the bucket root
   * (`/cdn/` → `index.html`). Without it, those paths are 404.
   */
  indexDocument: v.optional(documentName),
  /**
   * Answers, with status 200 and its own headers, a GET or HEAD whose key S3 reports
   * missing. The key is relative to the bucket root (`index.html`), never another bucket.
   */
  fallbackDocument: v.optional(documentName),
})

export type WebsiteConfig = v.InferOutput<typeof websiteSchema>

export function resolveWebsite(input: WebsiteConfig | undefined): ResolvedWebsite | undefined {
  if (input === undefined || (input.indexDocument === undefined && input.fallbackDocument === undefined)) return undefined
  return {
    ...(input.indexDocument !== undefined && { indexDocument: input.indexDocument }),
    ...(input.fallbackDocument !== undefined && { fallbackDocument: input.fallbackDocument }),
  }
}
