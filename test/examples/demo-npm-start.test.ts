/**
 * `npm start` (the README's demo) on this checkout: it starts, prints curl lines and a
 * token, and every printed curl line gets the answer the demo promises; stopping npm
 * (SIGTERM to its process, or Ctrl-C to the group) leaves no demo process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, ROOT } from '../support/cli.js'
import { parsePrometheusText } from '../support/prometheus-text.js'

let child: ChildProcess
let stdout = ''
let exited: Promise<number | null>

interface Curl {
  line: string
  method: string
  url: string
  headers: Record<string, string>
}

/** Splits a printed curl line like a POSIX shell would (single quotes only, as the demo prints). */
function shellWords(line: string): string[] {
  const words: string[] = []
  let current = ''
  let quoted = false
  let inWord = false
  for (const c of line) {
    if (quoted) {
      if (c === "'") quoted = false
      else current += c
    } else if (c === "'") {
      quoted = true
      inWord = true
    } else if (c === ' ') {
      if (inWord) words.push(current)
      current = ''
      inWord = false
    } else if (c === '|') {
      break // the rest is a pipe to grep/wc
    } else {
      current += c
      inWord = true
    }
  }
  if (inWord) words.push(current)
  return words
}

function parseCurl(line: string): Curl {
  const words = shellWords(line.trim())
  expect(words[0]).toBe('curl')
  let method = 'GET'
  let url = ''
  const headers: Record<string, string> = {}
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!
    if (word === '-I') method = 'HEAD'
    else if (word === '-X') method = words[++i]!
    else if (word === '-H') {
      const header = words[++i]!
      const colon = header.indexOf(':')
      headers[header.slice(0, colon)] = header.slice(colon + 1).trim()
    } else if (word === '-o' || word === '-w') i++
    else if (word.startsWith('http')) url = word
  }
  return { line, method, url, headers }
}

interface Demo {
  child: ChildProcess
  /** Everything printed up to "Request logs follow". */
  banner: string
  /** The pid of `node demo/start.mjs` (npm's grandchild), as the demo prints it. */
  demoPid: number
  exited: Promise<number | null>
  /**
   * Resolves when nobody holds the demo's stdout any more: npm, its shell and the demo's
   * own process all inherited it, so this is when the last of them has exited.
   */
  released: Promise<void>
}

/** `npm start` in its own process group (like a terminal's job), until it prints its banner. */
async function startDemo(): Promise<Demo> {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', YATAGARASU_DEMO_SKIP_BUILD: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const released = Promise.all([
    new Promise((resolve) => child.stdout!.once('close', resolve)),
    new Promise((resolve) => child.stderr!.once('close', resolve)),
  ]).then(() => undefined)
  let output = ''
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no curl lines in time\n${output}\n${stderr}`)), 150_000)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      if (output.includes('Request logs follow')) {
        clearTimeout(timer)
        resolve(output)
      }
    })
    void exited.then((code) => reject(new Error(`npm start exited (${code})\n${output}\n${stderr}`)))
  })
  child.stdout!.on('data', (chunk: string) => (output += chunk))
  const demoPid = Number(/kill -HUP (\d+)/.exec(banner)?.[1])
  expect(demoPid).toBeGreaterThan(0)
  return { child, banner, demoPid, exited, released }
}

/** Ends whatever is left of a demo's process group. */
async function killGroup(demo: Demo | undefined): Promise<void> {
  if (demo?.child.pid === undefined) return
  try {
    process.kill(-demo.child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
  await demo.exited
}

let demo: Demo

beforeAll(async () => {
  assertBuilt()
  demo = await startDemo()
  child = demo.child
  exited = demo.exited
  child.stdout!.on('data', (chunk: string) => (stdout += chunk))
  stdout = demo.banner
}, 180_000)

afterAll(async () => {
  if (child?.pid !== undefined && child.exitCode === null) {
    process.kill(-child.pid, 'SIGTERM')
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
})

describe('npm start', () => {
  it('prints curl lines for every bucket and the operations endpoints, and a token', () => {
    const curls = stdout.split('\n').filter((line) => line.trim().startsWith('curl '))
    const paths = curls.map((line) => new URL(parseCurl(line).url).pathname)
    expect(paths).toEqual(
      expect.arrayContaining(['/public/hello.txt', '/public/logo.png', '/media/video.mp4', '/private/report.txt', '/health', '/ready', '/metrics']),
    )
    expect(stdout).toMatch(/Token \(sub demo-user/)
  })

  it('answers each printed curl line as the demo says', async () => {
    const curls = stdout.split('\n').filter((line) => line.trim().startsWith('curl ')).map(parseCurl)
    const results: string[] = []
    for (const curl of curls) {
      const response = await fetch(curl.url, { method: curl.method, headers: curl.headers })
      const body = new Uint8Array(await response.arrayBuffer())
      const path = new URL(curl.url).pathname
      const authorized = curl.headers.Authorization !== undefined
      const range = curl.headers.Range !== undefined
      let expected: number
      if (curl.method === 'PUT') expected = 405
      else if (path === '/public/') expected = 404
      else if (path === '/private/report.txt') expected = authorized ? 200 : 401
      else if (range) expected = 206
      else expected = 200
      results.push(`${curl.method} ${path}${authorized ? ' (token)' : ''}${range ? ' (range)' : ''} ${response.status}`)
      expect(response.status, curl.line).toBe(expected)

      if (curl.method === 'PUT') continue
      if (path === '/public/hello.txt') expect(new TextDecoder().decode(body)).toBe('Hello from Yatagarasu!\n')
      if (path === '/public/logo.png') expect(response.headers.get('content-type')).toBe('image/png')
      if (path === '/media/video.mp4') expect(body.byteLength).toBe(range ? 100 : 16 * 1024 * 1024)
      if (path === '/private/report.txt' && authorized) expect(new TextDecoder().decode(body)).toMatch(/token holders/)
      if (path === '/metrics') parsePrometheusText(new TextDecoder().decode(body))
    }
    expect(results.length).toBeGreaterThanOrEqual(10)
    // Run twice, the cached bucket answers from memory.
    const again = await fetch(curls.find((c) => c.url.endsWith('/public/hello.txt'))!.url)
    await again.arrayBuffer()
    expect(again.headers.get('x-cache')).toBe('HIT')
  })

  it('logs the requests', () => {
    expect(stdout).toMatch(/INFO\s+request .*bucket=public key=hello\.txt status=200/)
    expect(stdout).toMatch(/INFO\s+request .*bucket=private key=report\.txt status=200 .*user=demo-user/)
  })
})

/** Waits until the demo let go of its output; an orphan never does, which fails within a minute. */
async function released(demo: Demo): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const orphaned = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`node demo/start.mjs (pid ${demo.demoPid}) still runs after npm was stopped`)), 60_000)
  })
  await Promise.race([demo.released, orphaned]).finally(() => clearTimeout(timer))
}

/** Whether a process runs: not gone, and not a zombie waiting for init to reap it. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  if (!existsSync('/proc/self/stat')) return true // no procfs (macOS): kill(pid, 0) is all there is
  try {
    // "pid (comm) state ..."; Z: exited, not yet reaped by its new parent.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false // gone between the two checks
  }
}

describe('stopping npm start', () => {
  let stopped: Demo | undefined
  afterAll(() => killGroup(stopped))

  // `kill <npm's pid>`, as a process manager or `timeout` would: npm passes it to its
  // shell, which dies without passing it on. The demo must not stay behind as an orphan.
  it("SIGTERM to npm's own process stops the demo too", async () => {
    stopped = await startDemo()
    process.kill(stopped.child.pid!, 'SIGTERM')
    await released(stopped)
    expect(running(stopped.demoPid)).toBe(false)
  }, 180_000)

  // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
  it('Ctrl-C (SIGINT to the process group) stops it gracefully', async () => {
    stopped = await startDemo()
    process.kill(-stopped.child.pid!, 'SIGINT')
    await released(stopped)
    expect(running(stopped.demoPid)).toBe(false)
  }, 180_000)
})
