/**
 * The integration tests need a real `redis-server` (Redis's own binary; no npm package
 * ships one that installs from the registry alone). Before they run: use the one on PATH;
 * else, as root on a system with apt-get (Debian, Ubuntu, this project's CI), install it
 * the way .ci/run used to; else stop at once with the line that installs it here. Never
 * skip the tests that need it.
 *
 * Tried on a machine without redis-server (2026-12): a fresh Debian 12 minbase made with
 * debootstrap, entered with chroot. As root, apt-get update + install took 53 s on a busy
 * host and the redis-server it gave answered PING; as an unprivileged user it stopped at
 * once with `sudo apt-get install -y redis-server`.
 */
import { execFileSync } from 'node:child_process'
import { accessSync, constants, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** What the decision depends on, gathered by `systemFacts`. */
export interface SystemFacts {
  /** Path of `redis-server` on PATH, if any. */
  redisServer: string | undefined
  platform: NodeJS.Platform
  root: boolean
  aptGet: boolean
  /** ID and ID_LIKE of /etc/os-release, e.g. ['debian'] or ['ubuntu', 'debian']. */
  distribution: string[]
}

export type RedisPlan =
  | { action: 'use'; path: string }
  | { action: 'install'; commands: string[][] }
  | { action: 'fail'; message: string }

export const APT_COMMANDS = [
  ['apt-get', 'update', '-qq'],
  ['apt-get', 'install', '-y', '-qq', 'redis-server'],
]

/** The command that installs redis-server on a system like this one, for a person to run. */
export function installLine(facts: Pick<SystemFacts, 'platform' | 'distribution' | 'root'>): string {
  const sudo = facts.root ? '' : 'sudo '
  if (facts.platform === 'darwin') return 'brew install redis'
  const is = (...ids: string[]) => facts.distribution.some((id) => ids.includes(id))
  if (is('debian', 'ubuntu')) return `${sudo}apt-get install -y redis-server`
  if (is('fedora', 'rhel', 'centos')) return `${sudo}dnf install -y redis`
  if (is('alpine')) return `${sudo}apk add redis`
  if (is('arch')) return `${sudo}pacman -S --noconfirm redis`
  if (is('opensuse', 'suse')) return `${sudo}zypper install -y redis`
  return 'install Redis (tested with 7.0) so that `redis-server` is on PATH: https://redis.io/docs/latest/operate/oss_and_stack/install/'
}

export function redisPlan(facts: SystemFacts): RedisPlan {
  if (facts.redisServer !== undefined) return { action: 'use', path: facts.redisServer }
  if (facts.platform === 'linux' && facts.root && facts.aptGet) return { action: 'install', commands: APT_COMMANDS }
  return {
    action: 'fail',
    message: `The integration tests need redis-server, which is not on PATH. Install it, then run the tests again:\n\n  ${installLine(facts)}\n`,
  }
}

/** The first executable `name` on PATH. */
export function onPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** ID and ID_LIKE from os-release text. */
export function distributionIds(osRelease: string): string[] {
  const ids: string[] = []
  for (const line of osRelease.split('\n')) {
    const match = /^(ID|ID_LIKE)=(.*)$/.exec(line.trim())
    if (match) ids.push(...match[2]!.replace(/["']/g, '').split(/\s+/).filter(Boolean))
  }
  return ids
}

function systemFacts(): SystemFacts {
  let osRelease = ''
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8')
  } catch {
    // not Linux, or a minimal one
  }
  return {
    redisServer: onPath('redis-server'),
    platform: process.platform,
    root: process.getuid?.() === 0,
    aptGet: onPath('apt-get') !== undefined,
    distribution: distributionIds(osRelease),
  }
}

/** Makes sure `redis-server` can be started; throws (the run stops) with the install line when it cannot. */
export function provisionRedisServer(log: (message: string) => void = console.log): void {
  const plan = redisPlan(systemFacts())
  if (plan.action === 'use') return
  if (plan.action === 'fail') throw new Error(plan.message)
  log(`redis-server is not on PATH; installing it (${plan.commands.map((command) => command.join(' ')).join(' && ')})...`)
  for (const [command, ...args] of plan.commands) {
    execFileSync(command!, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  }
  if (onPath('redis-server') === undefined) throw new Error(`apt-get installed redis-server, but it is still not on PATH (${process.env.PATH})`)
}
