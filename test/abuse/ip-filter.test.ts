/**
 * IP allow/deny lists: the pure parsing and matching functions (IPv4, IPv6,
 * IPv4-mapped IPv6), checked by example and property-based against Node's own
 * `net.BlockList`; then the middleware (403, nothing reaches S3) and its config.
 */
import net from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createYatagarasu, resolveConfig, silentLogger, type ConfigError, type YatagarasuConfig } from '../../src/index.js'
import { createIpFilter } from '../../src/middleware/ip-filter.js'
import { inRange, parseCidr, parseIp } from '../../src/net/ip-address.js'

describe('parseIp', () => {
  it.each([
    ['0.0.0.0', [0, 0, 0xffff, 0]],
    ['10.1.2.3', [0, 0, 0xffff, 0x0a010203]],
    ['255.255.255.255', [0, 0, 0xffff, 0xffffffff]],
    ['::', [0, 0, 0, 0]],
    ['::1', [0, 0, 0, 1]],
    ['2001:db8::1', [0x20010db8, 0, 0, 1]],
    ['2001:DB8:0:0:0:0:0:1', [0x20010db8, 0, 0, 1]],
    ['::ffff:10.1.2.3', [0, 0, 0xffff, 0x0a010203]],
    ['::ffff:a01:203', [0, 0, 0xffff, 0x0a010203]],
    ['fe80::1%eth0', [0xfe800000, 0, 0, 1]],
    ['1:2:3:4:5:6:7:8', [0x10002, 0x30004, 0x50006, 0x70008]],
    ['1::', [0x10000, 0, 0, 0]],
    ['1:2:3:4:5:6:1.2.3.4', [0x10002, 0x30004, 0x50006, 0x01020304]],
  ])('%s', (text, words) => {
    expect(parseIp(text)).toEqual(words)
  })

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3.-4',
    ' 1.2.3.4',
    '1.2.3.4/8',
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'g::1',
    '1.2.3.4::',
    '::1.2.3',
    'localhost',
    'unknown',
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeUndefined()
  })
})

describe('parseCidr', () => {
  it('clears host bits and maps IPv4 prefixes into the IPv6 space', () => {
    expect(parseCidr('10.1.2.3/8')).toMatchObject({ network: [0, 0, 0xffff, 0x0a000000], prefixLength: 104 })
    expect(parseCidr('2001:db8::/32')?.prefixLength).toBe(32)
    expect(parseCidr('1.2.3.4')?.prefixLength).toBe(128)
    expect(parseCidr('::/0')?.prefixLength).toBe(0)
  })

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/8/8', 'fe80::1%eth0/64', 'x/8'])(
    'refuses %j',
    (text) => expect(parseCidr(text)).toBeUndefined(),
  )
})

describe('matching agrees with node:net BlockList (property-based)', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'))
  const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'))

  it('IPv4 addresses in IPv4 ranges (also seen IPv4-mapped)', () => {
    fc.assert(
      fc.property(v4, fc.nat(32), v4, (network, prefix, address) => {
        const list = new net.BlockList()
        list.addSubnet(network, prefix, 'ipv4')
        const expected = list.check(address, 'ipv4')
        const range = parseCidr(`${network}/${prefix}`)!
        expect(inRange(parseIp(address)!, range)).toBe(expected)
        expect(inRange(parseIp(`::ffff:${address}`)!, range)).toBe(expected)
      }),
      { numRuns: 5000 },
    )
  })

  it('IPv6 addresses in IPv6 ranges', () => {
    fc.assert(
      fc.property(v6, fc.nat(128), v6, fc.boolean(), (network, prefix, other, near) => {
        // Half the time, test an address that shares the network's first groups.
        const address = near ? [...network.split(':').slice(0, 4), ...other.split(':').slice(4)].join(':') : other
        const list = new net.BlockList()
        list.addSubnet(network, prefix, 'ipv6')
        expect(inRange(parseIp(address)!, parseCidr(`${network}/${prefix}`)!)).toBe(list.check(address, 'ipv6'))
      }),
      { numRuns: 5000 },
    )
  })

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/x -'.split('')) }), (text) => {
        parseIp(text)
        parseCidr(text)
      }),
      { numRuns: 5000 },
    )
  })
})

describe('createIpFilter', () => {
  const filter = createIpFilter({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.0/24'] })

  it.each([
    ['10.1.2.3', true],
    ['::ffff:10.1.2.3', true],
    ['10.6.6.1', false], // deny wins over allow
    ['::ffff:10.6.6.1', false],
    ['2001:db8:1::5', true],
    ['2001:db9::1', false],
    ['192.168.1.1', false], // not in the allow list
    ['not-an-ip', false], // unknown: refused when there is an allow list
  ])('%s → %s', (ip, allowed) => expect(filter(ip)).toBe(allowed))

  it('an unknown client IP is refused with an allow list, allowed with only a deny list', () => {
    expect(filter(undefined)).toBe(false)
    const denyOnly = createIpFilter({ deny: ['10.6.6.0/24'] })
    expect(denyOnly(undefined)).toBe(true)
    expect(denyOnly('10.6.6.9')).toBe(false)
    expect(denyOnly('10.6.7.9')).toBe(true)
  })
})

describe('ipFilter middleware', () => {
  const s3 = { bucket: 'b', region: 'us-east-1', endpoint: 'http://s3.test', accessKey: 'AK', secretKey: 'SK' }
  const config: YatagarasuConfig = {
    buckets: [
      { name: 'internal', pathPrefix: '/internal', s3, ipFilter: { allow: ['10.0.0.0/8', '::1'], deny: ['10.6.6.0/24'] } },
      { name: 'public', pathPrefix: '/public', s3 },
    ],
  }
  function proxy() {
    const urls: string[] = []
    const handler = createYatagarasu(config, {
      logger: silentLogger,
      fetch: async (url) => {
        urls.push(url)
        return new Response('ok')
      },
    })
    return { urls, get: (path: string, clientIp?: string) => handler(new Request(`http://proxy.test${path}`), clientIp === undefined ? {} : { clientIp }) }
  }

  it('refuses with 403 before S3', async () => {
    const { get, urls } = proxy()
    expect((await get('/internal/a', '10.1.1.1')).status).toBe(200)
    expect((await get('/internal/a', '::1')).status).toBe(200)
    const refused = await get('/internal/a', '203.0.113.9')
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'Forbidden' })
    expect((await get('/internal/a', '10.6.6.6')).status).toBe(403)
    expect((await get('/internal/a')).status).toBe(403) // unknown IP with an allow list
    expect(urls).toHaveLength(2)
  })

  it('leaves buckets without a filter alone', async () => {
    const { get } = proxy()
    expect((await get('/public/a', '203.0.113.9')).status).toBe(200)
    expect((await get('/public/a')).status).toBe(200)
  })

  it('names the path of a bad CIDR in a ConfigError, without the value', () => {
    try {
      resolveConfig({ buckets: [{ name: 'a', pathPrefix: '/a', s3, ipFilter: { allow: ['10.0.0.0/8', '10.0.0.0/99'], deny: ['nonsense-secret'] } }] })
      expect.unreachable()
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([
        { path: 'buckets[0].ipFilter.allow[1]', message: 'must be an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)' },
        { path: 'buckets[0].ipFilter.deny[0]', message: 'must be an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)' },
      ])
      expect((error as Error).message).not.toContain('nonsense-secret')
    }
  })

  it('refuses an empty allow list (ambiguous) but accepts an empty deny list', () => {
    expect(() => resolveConfig({ buckets: [{ name: 'a', pathPrefix: '/a', s3, ipFilter: { allow: [] } }] })).toThrow(
      /buckets\[0\]\.ipFilter\.allow: must not be empty/,
    )
    expect(resolveConfig({ buckets: [{ name: 'a', pathPrefix: '/a', s3, ipFilter: { deny: [] } }] }).buckets[0]!.ipFilter).toBeUndefined()
  })
})
