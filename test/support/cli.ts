/**
 * Runs the built `yatagarasu` bin (`node dist/cli.js`) as a child process: one-shot
 * commands with their output and exit code, or a server whose JSON log lines are
 * collected and can be waited for.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '../..')
export const CLI = join(ROOT, 'dist/cli.js')

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: the global setup of the integration project builds it (or run `npm run build`)')
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`yatagarasu ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stdout, stderr })
    })
  })
}

export interface LogLine {
  level: string
  message: string
  [field: string]: unknown
}

export interface CliServer {
  readonly child: ChildProcess
  /** The proxy's URL, from the `listening` log line. */
  readonly url: string
  readonly metricsUrl: string | undefined
  /** Every JSON log line so far. */
  readonly logs: LogLine[]
  /** stdout and stderr as received. */
  readonly output: () => string
  /** Resolves with the first log line (past or future) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>
  /** Resolves with the exit code once the process ended. */
  readonly exited: Promise<number | null>
  /** SIGKILLs the process if it still runs. */
  kill(): Promise<void>
}

/** Starts `yatagarasu serve --config <file> --host 127.0.0.1 --port 0 ...extra` and waits until it listens. */
export async function startCliServer(configFile: string, env: Record<string, string> = {}, extra: string[] = []): Promise<CliServer> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0', ...extra], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: LogLine[] = []
  let output = ''
  let pending = ''
  const waiters: Array<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = []
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
    pending += chunk
    let newline: number
    while ((newline = pending.indexOf('\n')) !== -1) {
      const text = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        continue
      }
      logs.push(line)
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const exited = new Promise<number | null>((resolvePromise) => child.on('exit', (code) => resolvePromise(code)))

  function waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const found = logs.find(predicate)
    if (found) return Promise.resolve(found)
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; output:\n${output}`)), timeoutMs)
      const waiter = {
        predicate,
        resolve: (line: LogLine) => {
          clearTimeout(timer)
          resolvePromise(line)
        },
      }
      waiters.push(waiter)
      void exited.then(() => {
        if (waiters.includes(waiter)) {
          clearTimeout(timer)
          reject(new Error(`the server exited first; output:\n${output}`))
        }
      })
    })
  }

  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  }
  try {
    const listening = await waitForLog((line) => line.message === 'listening')
    return {
      child,
      url: String(listening.url),
      metricsUrl: typeof listening.metricsUrl === 'string' ? listening.metricsUrl : undefined,
      logs,
      output: () => output,
      waitForLog,
      exited,
      kill,
    }
  } catch (error) {
    await kill()
    throw error
  }
}

/** A temporary directory for config files, removed by `cleanup()`. */
export function tempDir(): { dir: string; write(name: string, text: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'yatagarasu-cli-'))
  return {
    dir,
    write(name, text) {
      const path = join(dir, name)
      writeFileSync(path, text)
      return path
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The environment without variables a test could inherit by accident. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('YATAGARASU_') && !key.startsWith('VITEST') && key !== 'NODE_OPTIONS') env[key] = value
  }
  return env
}
