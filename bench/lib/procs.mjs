/** Starting, pinning, measuring and stopping the processes a scenario needs. */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'

export const now = () => performance.timeOrigin + performance.now()
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export function which(command) {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' })
  return found.status === 0 ? found.stdout.trim() : undefined
}

const HAS_TASKSET = which('taskset') !== undefined
const live = new Set()

/** `taskset -c cpu` in front of a command when taskset exists and a cpu is given (not null/undefined). */
export function pinned(cpu, command, args) {
  if (cpu === undefined || cpu === null || !HAS_TASKSET) return [command, args]
  return ['taskset', ['-c', String(cpu), command, ...args]]
}

/**
 * Starts a server that prints `{"ready": url}` on its first stdout line; resolves with
 * its url, pid and a stop(). taskset execs the command, so the pid is the server's.
 */
export function startServer(name, command, args, { cpu, env, timeoutMs = 20_000 } = {}) {
  const [bin, argv] = pinned(cpu, command, args)
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  live.add(child)
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  return new Promise((resolve, reject) => {
    let buffered = ''
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms\n${stderr}`)), timeoutMs)
    function fail(error) {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(error)
    }
    child.once('exit', (code) => fail(new Error(`${name} exited (${code}) before it was ready\n${stderr}`)))
    child.stdout.on('data', function onData(chunk) {
      buffered += chunk
      const line = buffered.split('\n')[0]
      if (!buffered.includes('\n')) return
      child.stdout.off('data', onData)
      child.stdout.resume()
      clearTimeout(timer)
      child.removeAllListeners('exit')
      let url
      try {
        url = JSON.parse(line).ready
      } catch {
        return fail(new Error(`${name} printed ${line}`))
      }
      resolve({ name, url, pid: child.pid, child, stderr: () => stderr, stop: () => stop(child) })
    })
  })
}

export function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    live.delete(child)
    return Promise.resolve()
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(timer)
      live.delete(child)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** Stops everything still running (on errors and Ctrl-C). */
export async function stopAll() {
  await Promise.all([...live].map(stop))
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** A GET with a fresh connection; resolves with status, headers and the body length (or the body, when `keep`). */
export function get(url, { method = 'GET', keep = false, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent: false, headers }, (response) => {
      let length = 0
      const chunks = []
      response.on('data', (chunk) => {
        length += chunk.length
        if (keep) chunks.push(chunk)
      })
      response.on('end', () =>
        resolve({ status: response.statusCode, headers: response.headers, length, body: keep ? Buffer.concat(chunks) : undefined }),
      )
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end()
  })
}

export async function waitForHttp(url, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await get(url)
    } catch (error) {
      if (Date.now() > deadline) throw error
      await sleep(50)
    }
  }
}

/** Resident set size now and its peak (VmHWM), in bytes, from /proc. */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
}

/** Resets the peak RSS counter (VmHWM) of a process: `echo 5 > /proc/pid/clear_refs`. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the highest seen (and VmHWM). */
export function rssSampler(pid, everyMs = 20) {
  let peak = 0
  const sample = () => {
    try {
      peak = Math.max(peak, memoryOf(pid).rss)
    } catch {}
  }
  sample()
  const timer = setInterval(sample, everyMs)
  return () => {
    clearInterval(timer)
    sample()
    let hwm = NaN
    try {
      hwm = memoryOf(pid).hwm
    } catch {}
    return { sampled: peak, hwm }
  }
}

/** Runs a command to completion; resolves with its stdout (rejects on a non-zero exit). */
export function run(command, args, { cpu, timeoutMs = 120_000 } = {}) {
  const [bin, argv] = pinned(cpu, command, args)
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(child)
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (err = (err + chunk).slice(-4000)))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      live.delete(child)
      if (code === 0) resolve(out)
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}): ${err || out}`))
    })
  })
}

export const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
