/**
 * Cache keys: `<bucket>/<s3 key>` with the bucket name percent-encoded, so the first
 * `/` always ends the bucket part and no (bucket, key) pair can collide with another
 * (`a/b` + `c` vs `a` + `b/c`). A bucket's entries share the prefix `<bucket>/`.
 */
export function cacheKey(bucket: string, key: string): string {
  return bucketPrefix(bucket) + key
}

export function bucketPrefix(bucket: string): string {
  return `${encodeURIComponent(bucket)}/`
}
