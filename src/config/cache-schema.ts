/**
 * Schema and resolution of a bucket's `cache` block.
 */
import * as v from 'valibot'
import { bytesOr, ifEnabled, numberField, seconds, size, switchable } from './fields.js'

/** Seconds an entry is served for, when `ttl` is not given. */
export const DEFAULT_CACHE_TTL = 3600
/** Bytes a bucket's memory cache may hold, when `maxSize` is not given (`'100MB'`). */
export const DEFAULT_CACHE_MAX_SIZE = 100 * 1024 * 1024
/** Largest object stored, when `maxItemSize` is not given (`'10MB'`, the seed's threshold). */
export const DEFAULT_CACHE_MAX_ITEM_SIZE = 10 * 1024 * 1024

const staleSeconds = numberField({ min: 0, unit: 'seconds' })

/** A bucket's cache settings after validation; only present when caching is enabled. */
export interface ResolvedCache {
  /** Seconds. */
  readonly ttl: number
  /** Bytes. */
  readonly maxSize: number
  /** Bytes; at most `maxSize`. */
  readonly maxItemSize: number
  /** Seconds after `ttl` an entry is still served (`X-Cache: STALE`) while one background request revalidates it; 0 = off. */
  readonly staleWhileRevalidate: number
  /** Seconds after `ttl` an entry is still served when S3 fails (5xx, timeout, unreachable); 0 = off. */
  readonly staleIfError: number
}

/** A bucket's `cache` block (YAML: `max_size`, `max_item_size`). */
export const cacheSchema = switchable({
  /** Seconds an entry is served before it is fetched again (decimals allowed). Default 3600. */
  ttl: v.optional(seconds),
  /**
   * Bytes the bucket's default memory store may hold, as a number or `'1GB'` (powers of
   * 1024); least recently used entries are evicted first. Default `'100MB'`.
   */
  maxSize: v.optional(size(1048576, '10MB')),
  /** Largest object stored, as a number or `'5MB'`; larger objects always stream from S3. Default `'10MB'`; never more than `maxSize`. */
  maxItemSize: v.optional(size(1048576, '10MB')),
  /**
   * Seconds after `ttl` during which an expired entry is still served at once
   * (`X-Cache: STALE`) while one background conditional GET (`If-None-Match`) renews it
   * (304) or replaces it (200). Default 0 (off).
   */
  staleWhileRevalidate: v.optional(staleSeconds),
  /** Seconds after `ttl` during which an expired entry is served (`X-Cache: STALE`) when S3 fails. Default 0 (off). */
  staleIfError: v.optional(staleSeconds),
})

export type CacheConfig = v.InferOutput<typeof cacheSchema>

/** `enabled: false` streams every request from S3 (`X-Cache: BYPASS`). */
export const resolveCache = ifEnabled((input: CacheConfig): ResolvedCache => {
  const maxSize = bytesOr(input.maxSize, DEFAULT_CACHE_MAX_SIZE)
  const maxItemSize = bytesOr(input.maxItemSize, DEFAULT_CACHE_MAX_ITEM_SIZE)
  // An item larger than the whole cache could never be kept.
  return {
    ttl: input.ttl ?? DEFAULT_CACHE_TTL,
    maxSize,
    maxItemSize: Math.min(maxItemSize, maxSize),
    staleWhileRevalidate: input.staleWhileRevalidate ?? 0,
    staleIfError: input.staleIfError ?? 0,
  }
})
