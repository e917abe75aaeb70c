/**
 * Purges announced over Redis pub/sub (`yatagarasu/redis`): every instance sharing a
 * Redis removes what any of them purged from its own layers (memory, disk), so a purge
 * on one instance is seen by all.
 */
import type { PurgeBus, PurgeMessage } from '../cache/purge-bus.js'
import { describeError } from '../logging/describe-error.js'
import { throttledWarn } from '../logging/throttled-warn.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { createOwnedClient, type AnyRedisClient } from './redis-client.js'

export interface RedisPurgeBusOptions {
  /** Where Redis is (`redis://...`); the bus opens and owns two connections (publishing, subscribed). Give this or `client`. */
  url?: string
  /** With `url`: the password, when not in the URL. */
  password?: string
  /** A node-redis v5 client you manage; the bus publishes on it and subscribes on a `duplicate()` of it. */
  client?: AnyRedisClient
  /** The channel. Default `yatagarasu:purge`. */
  channel?: string
  /** Where connection problems are reported (once per 10 s). Default: {@link consoleLogger}. */
  logger?: Logger
}

export interface RedisPurgeBus extends PurgeBus {
  /** True while connected and subscribed. */
  readonly isReady: boolean
  /** Closes the connections the bus opened (a `client` you gave stays open). */
  close(): Promise<void>
}

/**
 * Messages are JSON, `{"from": <this bus's id>, "key": ...}` or `{..., "prefix": ...}`;
 * a bus ignores its own. Pub/sub delivers to whoever is subscribed at that moment: an
 * instance cut off from Redis during a purge misses it and keeps its copies until their
 * TTL ends (the shared Redis layer itself was purged). node-redis subscribes again
 * after a reconnect.
 *
 * @example
 * const bus = redisPurgeBus({ url: process.env.REDIS_URL })
 * const store = layeredStore([...layers], { bus })
 */
export function redisPurgeBus(options: RedisPurgeBusOptions): RedisPurgeBus {
  if ((options.url === undefined) === (options.client === undefined)) throw new TypeError('redisPurgeBus: give either url or client')
  const channel = options.channel ?? 'yatagarasu:purge'
  const logger = options.logger ?? consoleLogger
  const id = crypto.randomUUID()
  const owned = options.client === undefined
  const publisher = options.client ?? createOwnedClient({ url: options.url!, ...(options.password !== undefined && { password: options.password }) })
  const subscriber = publisher.duplicate()
  const listeners = new Set<(message: PurgeMessage) => void>()

  const warn = throttledWarn(logger)
  const report = (error: unknown) => warn('redis purge bus: connection problem; purges may not reach other instances', { error: describeError(error) })
  subscriber.on('error', report)
  if (owned) {
    publisher.on('error', report)
    publisher.connect().catch(() => {})
  }
  const onMessage = (text: string) => {
    const message = parse(text, id)
    if (message !== undefined) for (const listener of listeners) listener(message)
  }
  // node-redis subscribes again by itself after a reconnect, but only to channels whose
  // SUBSCRIBE went through: one cut short by a lost connection is sent again here.
  let listening = false
  const listen = () =>
    subscriber.subscribe(channel, onMessage).then(
      () => void (listening = true),
      (error: unknown) => report(error),
    )
  subscriber.on('ready', () => {
    if (!listening) void listen()
  })
  subscriber.connect().catch(() => {}) // failures arrive as 'error' events; it keeps retrying

  return {
    async publish(message) {
      if (!publisher.isReady) throw new Error('Redis is not connected (publish)')
      await publisher.publish(channel, JSON.stringify({ from: id, ...message }))
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    get isReady() {
      return subscriber.isReady && listening
    },
    async close() {
      listeners.clear()
      if (subscriber.isOpen) subscriber.destroy()
      if (owned && publisher.isOpen) publisher.destroy()
    },
  }
}

function parse(text: string, self: string): PurgeMessage | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { from, key, prefix } = value as Record<string, unknown>
  if (from === self) return undefined
  if (typeof key === 'string') return { key }
  if (typeof prefix === 'string') return { prefix }
  return undefined
}
