/**
 * `npm start` (the README's demo) on this checkout: it starts, prints curl lines and a
 * token, and every printed curl line gets the answer the demo promises.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, ROOT } from './support/cli.js'
import { parsePrometheusText } from './support/prometheus-text.js'

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

beforeAll(async () => {
  assertBuilt()
  child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', YATAGARASU_DEMO_SKIP_BUILD: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so that npm, sh and node all get the signal
  })
  exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no curl lines in time\n${stdout}\n${stderr}`)), 150_000)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      if (stdout.includes('Request logs follow')) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then((code) => reject(new Error(`npm start exited (${code})\n${stdout}\n${stderr}`)))
  })
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
