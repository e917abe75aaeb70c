/** Purging from code: one object, a key prefix, a whole bucket; and fills in progress. */
import { beforeEach, describe, expect, it } from 'vitest'
import { createCache, createYatagarasu, type CacheStore, type FetchHandler, type YatagarasuCache, type YatagarasuConfig } from '../../src/index.js'
import { backgroundWork, cachedConfig, fakeOrigin, settle, type FakeOrigin } from '../support/cache-origin.js'

let origin: FakeOrigin
let work: ReturnType<typeof backgroundWork>
let handler: FetchHandler
let store: YatagarasuCache

const base = cachedConfig(null).buckets[0]!
const config: YatagarasuConfig = {
  buckets: [
    { ...base, name: 'cdn', pathPrefix: '/cdn', cache: {} },
    { ...base, name: 'other', pathPrefix: '/other', cache: {} },
    { ...base, name: 'plain', pathPrefix: '/plain' },
  ],
}

async function status(path: string) {
  const response = await handler(new Request(`http://proxy.test${path}`), work.context)
  await response.arrayBuffer()
  await work.flush()
  return response.headers.get('x-cache')
}

beforeEach(async () => {
  origin = fakeOrigin()
  work = backgroundWork()
  store = createCache()
  handler = createYatagarasu(config, { fetch: origin.fetch, cache: store })
  for (const key of ['img/a.png', 'img/b.png', 'img2/c.png', 'css/site.css', 'a b+c.txt']) origin.put(key, key)
  for (const path of ['/cdn/img/a.png', '/cdn/img/b.png', '/cdn/img2/c.png', '/cdn/css/site.css', '/cdn/a%20b+c.txt', '/other/img/a.png']) {
    expect(await status(path)).toBe('MISS')
  }
})

describe('purge', () => {
  it('removes one object by its S3 key (decoded, as routed)', async () => {
    expect(await store.purge({ bucket: 'cdn', key: 'img/a.png' })).toBe(1)
    expect(await store.purge({ bucket: 'cdn', key: 'a b+c.txt' })).toBe(1)
    expect(await store.purge({ bucket: 'cdn', key: 'img/a.png' })).toBe(0)
    expect(await status('/cdn/img/a.png')).toBe('MISS')
    expect(await status('/cdn/a%20b+c.txt')).toBe('MISS')
    expect(await status('/cdn/img/b.png')).toBe('HIT')
    expect(await status('/other/img/a.png')).toBe('HIT')
  })

  it('removes a key prefix', async () => {
    expect(await store.purge({ bucket: 'cdn', prefix: 'img/' })).toBe(2)
    expect(await status('/cdn/img/a.png')).toBe('MISS')
    expect(await status('/cdn/img/b.png')).toBe('MISS')
    expect(await status('/cdn/img2/c.png')).toBe('HIT')
    expect(await status('/other/img/a.png')).toBe('HIT')
  })

  it('removes a whole bucket, and only that bucket', async () => {
    expect(await store.purge({ bucket: 'cdn' })).toBe(5)
    for (const path of ['/cdn/img/a.png', '/cdn/css/site.css']) expect(await status(path)).toBe('MISS')
    expect(await status('/other/img/a.png')).toBe('HIT')
  })

  it('refuses what it cannot do', async () => {
    await expect(store.purge({ bucket: 'plain' })).rejects.toThrow(/no cache is configured for bucket "plain"/)
    await expect(store.purge({ bucket: 'nope', key: 'x' })).rejects.toThrow(/no cache/)
    await expect(store.purge({ bucket: 'cdn', key: 'x', prefix: 'y' } as never)).rejects.toThrow(TypeError)
    const keyOnly: CacheStore = { get: async () => undefined, set: async () => {}, delete: async () => true }
    const limited = createCache({ store: keyOnly })
    createYatagarasu(config, { fetch: origin.fetch, cache: limited })
    expect(await limited.purge({ bucket: 'cdn', key: 'x' })).toBe(1)
    await expect(limited.purge({ bucket: 'cdn', prefix: 'img/' })).rejects.toThrow(/prefix/)
  })

  it('a fill in progress when its key is purged is not stored', async () => {
    let release!: () => void
    origin.put('late.txt', { body: 'old version', gate: () => new Promise<void>((resolve) => (release = resolve)) })
    const response = await handler(new Request('http://proxy.test/cdn/late.txt'), work.context)
    const body = response.text()
    await settle()
    expect(await store.purge({ bucket: 'cdn', key: 'late.txt' })).toBe(0)
    release()
    expect(await body).toBe('old version') // the request that started it is still answered
    await work.flush()
    origin.put('late.txt', 'new version')
    expect(await status('/cdn/late.txt')).toBe('MISS')
    expect(await status('/cdn/late.txt')).toBe('HIT')
  })

  it('the cache outlives a handler: a new handler (config reload) on the same cache starts warm', async () => {
    handler = createYatagarasu(config, { fetch: origin.fetch, cache: store })
    expect(await status('/cdn/img/a.png')).toBe('HIT')
  })
})
