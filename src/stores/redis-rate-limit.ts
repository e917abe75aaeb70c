/**
 * A rate-limit store in Redis, so that several proxy instances share their token
 * buckets (`yatagarasu/redis`). It takes a connected node-redis client (Node-only);
 * the store itself uses Web APIs only.
 *
 * One Lua script takes a token atomically — read, refill, take, write in a single
 * round trip that no other instance can interleave with — using Redis's clock, so
 * instances with skewed clocks still agree. Keys expire once their bucket would be
 * full again, so idle clients cost Redis nothing.
 *
 * When Redis is down, slow or answers garbage, requests are let through (fail open)
 * and the failure is logged: an outage of the limiter must not become an outage of
 * the proxy.
 */
import type { Logger } from '../logging/logger.js'
import { throttledWarn } from '../logging/throttled-warn.js'
import type { RateLimitDecision, RateLimitRule, RateLimitStore } from './rate-limit-store.js'

/** The part of a node-redis (v4/v5) client this store uses. */
export interface RedisScriptClient {
  /** node-redis: `false` while disconnected; commands would then queue — the store doesn't wait for that. */
  readonly isReady?: boolean
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
}

export interface RedisRateLimitStoreOptions {
  /** A connected node-redis client (`createClient(...).connect()`). */
  client: RedisScriptClient
  /** Key prefix. Default `yatagarasu:ratelimit:`. */
  prefix?: string
  /** How long to wait for Redis before letting the request through. Default 250 ms. */
  timeoutMs?: number
  /** Told when Redis fails: once, then at most every 10 s. */
  logger?: Logger
  /** Called on every request let through because Redis failed (to count them in metrics). */
  onFailOpen?: (reason: 'not connected' | 'timeout' | 'unexpected reply' | 'error') => void
}

// KEYS[1] the bucket; ARGV: requests per second, burst size.
// Returns { allowed (0/1), milliseconds until the next token }.
const SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return { allowed, wait }
`

let scriptSha1: Promise<string> | undefined
/** EVALSHA's name for the script, computed once. */
function sha1OfScript(): Promise<string> {
  scriptSha1 ??= crypto.subtle
    .digest('SHA-1', new TextEncoder().encode(SCRIPT))
    .then((digest) => [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join(''))
  return scriptSha1
}
const ALLOW: RateLimitDecision = Object.freeze({ allowed: true, retryAfterMs: 0 })

/**
 * @example
 * import { createClient } from 'redis'
 * import { createYatagarasu } from 'yatagarasu'
 * import { redisRateLimitStore } from 'yatagarasu/redis'
 *
 * const client = await createClient({ url: 'redis://127.0.0.1:6379' }).connect()
 * const handler = createYatagarasu(config, { rateLimitStore: redisRateLimitStore({ client }) })
 */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions): RateLimitStore {
  const { client, logger } = options
  const prefix = options.prefix ?? 'yatagarasu:ratelimit:'
  const timeoutMs = options.timeoutMs ?? 250
  const warn = throttledWarn(logger)

  function failOpen(reason: 'not connected' | 'timeout' | 'unexpected reply' | 'error', detail: string = reason): RateLimitDecision {
    options.onFailOpen?.(reason)
    warn('redis rate limit store unavailable; letting requests through', { reason: detail })
    return ALLOW
  }

  async function run(key: string, rule: RateLimitRule): Promise<unknown> {
    const args = { keys: [prefix + key], arguments: [String(rule.requestsPerSecond), String(rule.burstSize)] }
    try {
      return await client.evalSha(await sha1OfScript(), args)
    } catch (error) {
      // First use on this server, or after SCRIPT FLUSH / a failover: load it.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return client.eval(SCRIPT, args)
      throw error
    }
  }

  return {
    async consume(key, rule) {
      if (client.isReady === false) return failOpen('not connected')
      let timer: ReturnType<typeof setTimeout> | undefined
      try {
        const reply = await Promise.race([
          run(key, rule),
          new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), timeoutMs)
          }),
        ])
        if (reply === 'timeout') return failOpen('timeout')
        if (!Array.isArray(reply) || reply.length !== 2) return failOpen('unexpected reply')
        const [allowed, wait] = reply.map(Number)
        return allowed === 1 ? ALLOW : { allowed: false, retryAfterMs: Number.isFinite(wait) ? wait! : 1000 }
      } catch (error) {
        return failOpen('error', error instanceof Error ? error.name : 'error')
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
