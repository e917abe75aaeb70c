/**
 * Runs a server in its own process (a real `bun`, `deno`, `next start`, ...) and waits
 * until it prints the line that says where it listens. A process that exits, or stays
 * silent past the timeout, fails the start with everything it printed: a runtime that
 * cannot run here must fail loudly, never be skipped.
 */
import { spawn } from 'node:child_process'
import { until } from './wait.js'

export interface ChildServerOptions {
  command: string
  args?: string[]
  cwd?: string
  /** Added to the parent's environment. */
  env?: Record<string, string>
  /** The ready line; its first group is the URL. Default /listening on (\S+)/. */
  readyPattern?: RegExp
  /**
   * For servers that print nothing when ready (workerd): the URL they will serve. The
   * server is ready when a request to it gets any HTTP answer.
   */
  url?: string
  /** Default 60 s. */
  timeoutMs?: number
  /**
   * Runs it in a process group of its own and signals the whole group on close: for
   * commands that start the server as a grandchild (`npm start`, through a shell, which
   * does not pass signals on).
   */
  processGroup?: boolean
}

export interface ChildServer {
  url: string
  /** Everything printed so far (stdout and stderr), for failure messages. */
  output(): string
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  close(): Promise<void>
}

export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  const readyPattern = options.readyPattern ?? /listening on (\S+)/
  const child = spawn(options.command, options.args ?? [], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup === true,
  })
  let printed = ''
  const signal = (name: NodeJS.Signals) => {
    try {
      if (options.processGroup) process.kill(-child.pid!, name)
      else child.kill(name)
    } catch {
      // already gone
    }
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    signal('SIGTERM')
    const timer = setTimeout(() => signal('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
    // What npm or a shell left behind when it went first.
    if (options.processGroup) signal('SIGKILL')
  }

  const url = await new Promise<string>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer)
      void close()
      reject(new Error(`${options.command} ${(options.args ?? []).join(' ')}: ${why}\n--- output ---\n${printed}`))
    }
    const timer = setTimeout(() => fail(`no ready line after ${options.timeoutMs ?? 60_000} ms`), options.timeoutMs ?? 60_000)
    if (options.url !== undefined) void pollUntilAnswered(options.url, () => child.exitCode !== null).then((ok) => {
      if (!ok) return
      clearTimeout(timer)
      resolve(options.url!)
    })
    const onOutput = (chunk: Buffer) => {
      printed += chunk.toString()
      const match = options.url === undefined ? readyPattern.exec(printed) : null
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout.on('data', onOutput)
    child.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()))
    child.once('error', (error) => fail(`could not start: ${error.message}`))
    child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`))
  })
  return { url, output: () => printed, close }
}

/**
 * Resolves true once `url` answers, false if the process has gone meanwhile. Polled: a
 * server that prints nothing announces no event; the start's own timer is the deadline.
 */
async function pollUntilAnswered(url: string, exited: () => boolean): Promise<boolean> {
  let answered = false
  const answers = async () => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await response.body?.cancel()
      return true
    } catch {
      return false
    }
  }
  await until(async () => (answered = await answers()) || exited(), `${url} to answer`, Number.POSITIVE_INFINITY)
  return answered
}
