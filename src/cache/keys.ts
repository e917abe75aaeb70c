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

/**
 * The key of an object or of a variant of it (an image transform, a coding) under a
 * bucket's {@link bucketPrefix} (made once by the caller): the object's key, a NUL and
 * the variant. The router refuses keys containing NUL, so no object's key can equal a
 * variant's; a purge by key prefix removes the object's variants with it.
 */
export function prefixedVariantKey(prefix: string, key: string, variant: string | undefined): string {
  return variant === undefined ? prefix + key : `${prefix}${key}\u0000${variant}`
}
