/**
 * The node-redis connection the Redis store, rate-limit store and purge bus open when
 * given a URL (Node-only, part of `yatagarasu/redis`).
 */
import { createClient, type RedisClientType } from 'redis'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRedisClient = RedisClientType<any, any, any, any, any>

/** Where an owned connection goes: a URL, and the password and database when given apart from it. */
export interface RedisConnectionOptions {
  url: string
  password?: string
  database?: number
}

/**
 * A client for a connection the library owns: commands fail at once while it is down
 * (queued commands would hang requests) and it reconnects in the background with
 * backoff up to 2 s. Not connected yet: call `connect()` (it keeps retrying).
 */
export function createOwnedClient(connection: RedisConnectionOptions): AnyRedisClient {
  return createClient({
    url: connection.url,
    ...(connection.password !== undefined && connection.password !== '' && { password: connection.password }),
    ...(connection.database !== undefined && { database: connection.database }),
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 1000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
    },
  }) as AnyRedisClient
}

