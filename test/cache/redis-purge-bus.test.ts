/**
 * Purges announced over Redis pub/sub, against a real redis-server: each bus hears the
 * others and not itself, malformed messages are ignored, publishing fails fast while
 * Redis is down, and the subscription comes back with Redis.
 */
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger, type PurgeMessage } from '../../src/index.js'
import { redisPurgeBus, type RedisPurgeBus } from '../../src/stores/redis.js'
import { startRedis, type TestRedis } from '../support/redis-server.js'
import { until } from '../support/wait.js'

let redis: TestRedis
const buses: RedisPurgeBus[] = []

beforeAll(async () => {
  redis = await startRedis()
})

afterAll(async () => {
  await Promise.all(buses.map((bus) => bus.close()))
  await redis.stop()
})

function bus(): { bus: RedisPurgeBus; heard: PurgeMessage[] } {
  const created = redisPurgeBus({ url: redis.url, logger: silentLogger })
  buses.push(created)
  const heard: PurgeMessage[] = []
  created.subscribe((message) => heard.push(message))
  return { bus: created, heard }
}

describe('redisPurgeBus', () => {
  it('delivers each purge to the other instances, not back to the one that published it', async () => {
    const a = bus()
    const b = bus()
    const c = bus()
    await until(() => a.bus.isReady && b.bus.isReady && c.bus.isReady, 'the subscriptions')
    await a.bus.publish({ key: 'cdn/logo.png' })
    await b.bus.publish({ prefix: 'cdn/img/' })
    await until(() => c.heard.length === 2 && b.heard.length === 1 && a.heard.length === 1, 'the messages')
    expect(c.heard).toEqual([{ key: 'cdn/logo.png' }, { prefix: 'cdn/img/' }])
    expect(b.heard).toEqual([{ key: 'cdn/logo.png' }])
    expect(a.heard).toEqual([{ prefix: 'cdn/img/' }])
  })

  it('ignores messages that are not purges', async () => {
    const a = bus()
    await until(() => a.bus.isReady, 'the subscription')
    const raw = createClient({ url: redis.url })
    await raw.connect()
    await raw.publish('yatagarasu:purge', 'not json')
    await raw.publish('yatagarasu:purge', JSON.stringify({ from: 'x', nothing: 1 }))
    await raw.publish('yatagarasu:purge', JSON.stringify({ from: 'x', key: 'cdn/a' }))
    await until(() => a.heard.length === 1, 'the valid message')
    expect(a.heard).toEqual([{ key: 'cdn/a' }])
    raw.destroy()
  })

  it('fails a publish at once while Redis is down, and hears purges again once it is back', async () => {
    const a = bus()
    const b = bus()
    await until(() => a.bus.isReady && b.bus.isReady, 'the subscriptions')
    const port = redis.port
    await redis.stop()
    await until(() => !a.bus.isReady, 'the bus to notice')
    await expect(b.bus.publish({ key: 'cdn/during' })).rejects.toThrow(/not connected/)
    redis = await startRedis({ port })
    await until(() => a.bus.isReady && b.bus.isReady, 'the buses to reconnect', 20_000)
    // Publishing may race the re-subscription: retry until heard (bounded by `until`).
    let sent = 0
    await until(() => {
      if (a.heard.length === 0 && sent++ % 20 === 0) void b.bus.publish({ key: 'cdn/after' }).catch(() => {})
      return a.heard.length > 0
    }, 'the purge after the restart', 20_000)
    expect(a.heard[0]).toEqual({ key: 'cdn/after' })
  }, 60_000)
})
