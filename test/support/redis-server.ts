/**
 * A throwaway redis-server (from PATH: the integration project provisions it, see
 * ./provision-redis.ts) on a free port, with no persistence, for tests that need a real
 * Redis. Stop it in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { freePort } from './free-port.js'

export interface TestRedis {
  port: number
  url: string
  process: ChildProcess
  /** Kills the server (SIGKILL, like a crash) and waits until it has exited. */
  stop(): Promise<void>
}

/** Starts a server on a free port, or on `port` (to bring a stopped one back for its clients). */
export async function startRedis(options: { password?: string; port?: number } = {}): Promise<TestRedis> {
  const port = options.port ?? (await freePort())
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'no']
  if (options.password !== undefined) args.push('--requirepass', options.password)
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}:\n${output}`))
    })
  })
  child.stdout!.resume()
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}
