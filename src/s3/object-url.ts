import type { ResolvedS3Connection } from '../config/types.js'
import { encodeKey } from '../routing/object-key.js'

/**
 * The URL of an object. With a custom endpoint (MinIO, R2, s3rver) the URL is
 * path-style, `endpoint/bucket/key`; on AWS it is virtual-hosted,
 * `https://bucket.s3.region.amazonaws.com/key`, except for bucket names with dots,
 * whose virtual host would not match the TLS certificate (AWS docs, "Virtual hosting
 * of buckets"), which stay path-style.
 */
export function objectUrlBase(s3: ResolvedS3Connection): string {
  if (s3.endpoint !== undefined) return `${s3.endpoint}/${encodeKey(s3.bucket)}/`
  if (s3.bucket.includes('.')) return `https://s3.${s3.region}.amazonaws.com/${s3.bucket}/`
  return `https://${s3.bucket}.s3.${s3.region}.amazonaws.com/`
}

export function objectUrl(base: string, key: string): string {
  return base + encodeKey(key)
}
