/**
 * The HTTP load generator: `wrk` (Debian) when installed, else `autocannon` (npm), in
 * its own process, pinned to its own core when taskset exists. Keep-alive connections.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { run, which } from './procs.mjs'

const AUTOCANNON = fileURLToPath(new URL('../../node_modules/autocannon/autocannon.js', import.meta.url))
export const LOAD_TOOL = which('wrk') !== undefined ? 'wrk' : existsSync(AUTOCANNON) ? 'autocannon' : undefined

/**
 * @returns {Promise<{ rps: number, p50: number, p99: number, errors: number }>} latencies in ms;
 * `errors`: socket errors, timeouts and non-2xx/3xx answers. `headers` go with every request.
 */
export async function load(url, { connections, seconds, cpu, headers = {} }) {
  if (LOAD_TOOL === undefined) throw new Error('No load generator: install wrk (`apt-get install -y wrk`) or the autocannon devDependency')
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`])
  if (LOAD_TOOL === 'wrk') {
    const out = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...headerArgs, url], { cpu })
    return parseWrk(out)
  }
  const out = await run(
    process.execPath,
    [AUTOCANNON, '-j', '-c', String(connections), '-d', String(seconds), ...headerArgs, url],
    { cpu },
  )
  const result = JSON.parse(out)
  return {
    rps: result.requests.total / (result.duration || seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  }
}

const UNIT = { us: 0.001, ms: 1, s: 1000 }

function parseWrk(out) {
  const latency = (label) => {
    const match = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out)
    return match ? Number(match[1]) * UNIT[match[2]] : NaN
  }
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  const errors = non2xx + (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0)
  return { rps, p50: latency(50), p99: latency(99), errors }
}
