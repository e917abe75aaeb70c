/**
 * How purges reach the other instances sharing a cache: each instance publishes what
 * it purged and removes what the others publish from its own layers. `redisPurgeBus`
 * (`yatagarasu/redis`) implements it with Redis pub/sub; anything that can broadcast
 * can (a message queue, a cluster's IPC).
 */

/** A purge as announced: one cache key, or every key with a prefix (keys as the cache builds them: `<bucket>/<s3 key>`). */
export type PurgeMessage = { readonly key: string; readonly prefix?: undefined } | { readonly prefix: string; readonly key?: undefined }

export interface PurgeBus {
  /** Announces a purge to the other instances (not back to this one). */
  publish(message: PurgeMessage): Promise<void>
  /** Calls `listener` with each purge another instance announces; returns the unsubscribe. */
  subscribe(listener: (message: PurgeMessage) => void): () => void
}
