/** The `yatagarasu` command line, read with node:util's parseArgs (the CLI itself: test/server/cli.test.ts). */
import { describe, expect, it } from 'vitest'
import { readInvocation, UsageError } from '../../src/server/args.js'

const read = (argv: string[], env: Record<string, string> = {}) => readInvocation(argv, env)
const usageError = (argv: string[]) => {
  try {
    read(argv)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as Error).message
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`)
}

describe('yatagarasu command line', () => {
  it('reads commands with long, short and --name=value options', () => {
    expect(read(['serve', '-c', 'a.yaml', '-p', '0', '--host', '127.0.0.1'])).toEqual({ command: 'serve', config: 'a.yaml', port: 0, host: '127.0.0.1' })
    expect(read(['check', '--config=a.yaml'])).toEqual({ command: 'check', config: 'a.yaml' })
    expect(read(['--port', '8080', 'serve', '--config', 'a.yaml'])).toEqual({ command: 'serve', config: 'a.yaml', port: 8080 })
    expect(read(['check'], { YATAGARASU_CONFIG: 'from-env.yaml' })).toEqual({ command: 'check', config: 'from-env.yaml' })
  })

  it('answers help and version before anything else, and no command at all', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['serve', '--help']]) expect(read(argv)).toEqual({ command: 'help' })
    expect(() => read(['serve', '--help', '--nope'])).toThrow(UsageError)
    expect(read(['-v'])).toEqual({ command: 'version' })
    expect(read(['version'])).toEqual({ command: 'version' })
    expect(read([])).toEqual({ command: undefined })
  })

  it('refuses what it does not understand, in one line', () => {
    expect(usageError(['serve'])).toBe('--config FILE is required')
    expect(usageError(['frobnicate'])).toBe('unknown command "frobnicate"')
    expect(usageError(['check', '--config'])).toBe("Option '-c, --config <value>' argument missing")
    expect(usageError(['check', '--nope'])).toBe("Unknown option '--nope'")
    expect(usageError(['serve', '--config', '--port', '80'])).toBe("Option '--config' argument is ambiguous")
    expect(usageError(['serve', '-c', 'a.yaml', '--port', 'eighty'])).toBe('--port must be a port number from 0 to 65535')
    expect(usageError(['serve', '-c', 'a.yaml', '--port', '65536'])).toBe('--port must be a port number from 0 to 65535')
    expect(usageError(['check', '-c', 'a.yaml', '--host', 'h'])).toBe('--port and --host are options of serve')
    expect(usageError(['serve', '-c', 'a.yaml', 'extra'])).toBe('unexpected argument "extra"')
  })
})
