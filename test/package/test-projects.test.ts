/**
 * How the suite provisions and guards itself: the redis-server decision the integration
 * project's global setup takes (test/support/provision-redis.ts), the build-freshness rule of
 * its build step (scripts/build-if-needed.mjs), and the unit project's refusal of servers
 * and processes (test/support/unit-guard.ts, active here).
 */
import { spawn } from 'node:child_process'
import http from 'node:http'
import { describe, expect, it } from 'vitest'
import { needsBuild } from '../../scripts/build-if-needed.mjs'
import { APT_COMMANDS, distributionIds, installLine, redisPlan, type SystemFacts } from '../support/provision-redis.js'

const debianRoot: SystemFacts = { redisServer: undefined, platform: 'linux', root: true, aptGet: true, distribution: ['debian'] }

describe('redis-server for the integration tests', () => {
  it('uses the one on PATH, whatever the system', () => {
    expect(redisPlan({ ...debianRoot, redisServer: '/usr/bin/redis-server' })).toEqual({ action: 'use', path: '/usr/bin/redis-server' })
    expect(redisPlan({ ...debianRoot, platform: 'darwin', root: false, aptGet: false, redisServer: '/opt/homebrew/bin/redis-server' })).toMatchObject({ action: 'use' })
  })

  it('installs it with apt-get as root where apt-get exists (a fresh Debian machine, CI)', () => {
    expect(redisPlan(debianRoot)).toEqual({ action: 'install', commands: APT_COMMANDS })
    expect(APT_COMMANDS.at(-1)).toEqual(['apt-get', 'install', '-y', '-qq', 'redis-server'])
  })

  it('otherwise stops at once with the line that installs it on that system', () => {
    const cases: Array<[Partial<SystemFacts>, string]> = [
      [{ root: false }, 'sudo apt-get install -y redis-server'],
      [{ root: false, distribution: ['ubuntu', 'debian'] }, 'sudo apt-get install -y redis-server'],
      [{ aptGet: false, distribution: ['fedora'] }, 'dnf install -y redis'],
      [{ root: false, aptGet: false, distribution: ['alpine'] }, 'sudo apk add redis'],
      [{ root: false, aptGet: false, distribution: ['arch'] }, 'sudo pacman -S --noconfirm redis'],
      [{ platform: 'darwin', root: false, aptGet: false, distribution: [] }, 'brew install redis'],
      [{ root: false, aptGet: false, distribution: ['gentoo'] }, 'https://redis.io/docs/latest/operate/oss_and_stack/install/'],
    ]
    for (const [facts, line] of cases) {
      const plan = redisPlan({ ...debianRoot, ...facts })
      expect(plan.action, JSON.stringify(facts)).toBe('fail')
      expect(plan.action === 'fail' && plan.message, JSON.stringify(facts)).toContain(line)
      expect(installLine({ ...debianRoot, ...facts })).toContain(line)
    }
  })

  it('reads the distribution from os-release', () => {
    expect(distributionIds('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')).toEqual(['debian'])
    expect(distributionIds('ID=ubuntu\nID_LIKE=debian\n')).toEqual(['ubuntu', 'debian'])
    expect(distributionIds('ID="rocky"\nID_LIKE="rhel centos fedora"\n')).toEqual(['rocky', 'rhel', 'centos', 'fedora'])
    expect(distributionIds('')).toEqual([])
  })
})

describe('building dist/ once', () => {
  it('builds when an output is missing or older than an input, not otherwise', () => {
    expect(needsBuild([], [1])).toBe(true)
    expect(needsBuild([10, undefined], [1])).toBe(true)
    expect(needsBuild([10, 20], [5, 9])).toBe(false)
    expect(needsBuild([10, 20], [5, 11])).toBe(true) // newer than the oldest output
    expect(needsBuild([10, 20], [10])).toBe(false)
  })
})

describe('the unit project', () => {
  it('refuses to start a server', () => {
    expect(() => http.createServer().listen(0, '127.0.0.1')).toThrow(/unit tests start no servers/)
  })

  it('refuses to start a process', () => {
    expect(() => spawn(process.execPath, ['-e', ''])).toThrow(/unit tests start no processes/)
  })
})
