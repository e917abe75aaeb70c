/**
 * IP addresses and CIDR ranges, IPv4 and IPv6, as pure functions.
 *
 * Every address is held as IPv6 — four 32-bit words — with IPv4 as its IPv4-mapped
 * form `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2). So `10.0.0.0/8` matches both a client
 * seen as `10.1.2.3` and one seen as `::ffff:10.1.2.3` (what a dual-stack Node server
 * reports for IPv4 clients).
 */

/** An address as four big-endian 32-bit words. */
export type IpAddress = readonly [number, number, number, number]

export interface IpRange {
  /** The network address, host bits cleared. */
  readonly network: IpAddress
  readonly mask: IpAddress
  /** The prefix length in the IPv6 form (an IPv4 `/8` is `/104`). */
  readonly prefixLength: number
}

const IPV4_PART = /^(?:0|[1-9]\d{0,2})$/
const IPV6_GROUP = /^[\da-f]{1,4}$/i

/**
 * Parses an IPv4 (`192.0.2.1`) or IPv6 (`2001:db8::1`, `::ffff:192.0.2.1`) address.
 * A zone (`fe80::1%eth0`) is ignored. Anything else, including IPv4 parts with
 * leading zeros (octal to some parsers), is `undefined`.
 */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const zone = text.indexOf('%')
    return parseIpv6(zone === -1 ? text : text.slice(0, zone))
  }
  const v4 = parseIpv4(text)
  return v4 === undefined ? undefined : [0, 0, 0xffff, v4]
}

/**
 * Parses `address/prefixLength`, or a single address (a range of one). Host bits
 * set below the prefix are cleared (`10.1.2.3/8` is `10.0.0.0/8`).
 */
export function parseCidr(text: string): IpRange | undefined {
  const slash = text.indexOf('/')
  const addressText = slash === -1 ? text : text.slice(0, slash)
  if (addressText.includes('%')) return undefined
  const address = parseIp(addressText)
  if (address === undefined) return undefined
  const isV4 = !addressText.includes(':')
  const max = isV4 ? 32 : 128
  let length = max
  if (slash !== -1) {
    const lengthText = text.slice(slash + 1)
    if (!/^(?:0|[1-9]\d{0,2})$/.test(lengthText)) return undefined
    length = Number(lengthText)
    if (length > max) return undefined
  }
  const prefixLength = isV4 ? length + 96 : length
  const mask = maskOf(prefixLength)
  return {
    network: [address[0] & mask[0], address[1] & mask[1], address[2] & mask[2], address[3] & mask[3]].map(
      (word) => word >>> 0,
    ) as unknown as IpAddress,
    mask,
    prefixLength,
  }
}

export function inRange(address: IpAddress, range: IpRange): boolean {
  const { network, mask } = range
  return (
    ((address[0] & mask[0]) >>> 0) === network[0] &&
    ((address[1] & mask[1]) >>> 0) === network[1] &&
    ((address[2] & mask[2]) >>> 0) === network[2] &&
    ((address[3] & mask[3]) >>> 0) === network[3]
  )
}

export function inAnyRange(address: IpAddress, ranges: readonly IpRange[]): boolean {
  for (const range of ranges) if (inRange(address, range)) return true
  return false
}

function maskOf(prefixLength: number): IpAddress {
  const words = [0, 0, 0, 0]
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, prefixLength - i * 32))
    words[i] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  }
  return words as unknown as IpAddress
}

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = value * 256 + n
  }
  return value
}

function parseIpv6(text: string): IpAddress | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] === '' ? [] : halves[0]!.split(':')
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : []
  const groups: number[] = []
  const all = [...head, ...tail]
  // An embedded IPv4 address may only stand last (RFC 4291 §2.2, form 3).
  const last = all[all.length - 1]
  let v4: number | undefined
  if (last !== undefined && last.includes('.')) {
    v4 = parseIpv4(last)
    if (v4 === undefined) return undefined
    if (tail.length > 0) tail.pop()
    else if (halves.length === 2) return undefined // `1.2.3.4::`: the IPv4 part is not last
    else head.pop()
  }
  for (const group of [...head, ...tail]) if (!IPV6_GROUP.test(group)) return undefined
  const groupCount = head.length + tail.length + (v4 === undefined ? 0 : 2)
  if (halves.length === 2 ? groupCount > 7 : groupCount !== 8) return undefined
  for (const group of head) groups.push(parseInt(group, 16))
  for (let i = groupCount; i < 8; i++) groups.push(0)
  for (const group of tail) groups.push(parseInt(group, 16))
  if (v4 !== undefined) groups.push(v4 >>> 16, v4 & 0xffff)
  return [
    (groups[0]! * 0x10000 + groups[1]!) >>> 0,
    (groups[2]! * 0x10000 + groups[3]!) >>> 0,
    (groups[4]! * 0x10000 + groups[5]!) >>> 0,
    (groups[6]! * 0x10000 + groups[7]!) >>> 0,
  ]
}
