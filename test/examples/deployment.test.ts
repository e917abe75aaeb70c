/**
 * The deployment files (Dockerfile, compose.yaml, deploy/) checked without Docker: the
 * image's exact entry command run against the built dist with the compose stack's config
 * and environment, its HEALTHCHECK command against that server, the local S3 service's
 * script, and the compose file's shape. Building the image and running compose can't be
 * done here (no Docker daemon); docs/deployment.md says so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, ROOT, runCli } from '../support/cli.js'

interface Stage {
  from: string
  instructions: Array<{ op: string; args: string }>
}

/** The Dockerfile's stages: instructions with continuation lines joined, comments dropped. */
function dockerStages(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  const stages: Stage[] = []
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    const upper = op.toUpperCase()
    if (upper === 'FROM') stages.push({ from: args, instructions: [] })
    else stages.at(-1)?.instructions.push({ op: upper, args })
  }
  return stages
}

function last(stage: Stage, op: string): string | undefined {
  return stage.instructions.filter((i) => i.op === op).at(-1)?.args
}

function execForm(args: string | undefined): string[] {
  const parsed: unknown = JSON.parse(args ?? 'null')
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) throw new Error(`not an exec form: ${args}`)
  return parsed
}

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` and `$$` in a value. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_]\w*)(?::?([-?])([^}]*))?\}/g, (whole, name: string | undefined, kind, rest: string) => {
    if (name === undefined) return '$'
    const set = env[name]
    if (set !== undefined && set !== '') return set
    if (kind === '-') return rest
    throw new Error(`compose needs ${name}: ${kind === '?' ? rest : 'unset'}`)
  })
}

interface Service {
  build?: string | { context: string }
  image?: string
  working_dir?: string
  command?: string[] | string
  environment?: Record<string, string>
  volumes?: string[]
  ports?: string[]
  healthcheck?: { test: string[] }
  depends_on?: Record<string, { condition: string }>
}

interface RunningProcess {
  child: ChildProcess
  url: string
  output(): string
  exited: Promise<number | null>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Spawns `argv` with exactly `env` (plus PATH) and waits for `ready` (group 1: the URL) on stdout. */
function startProcess(argv: string[], env: Record<string, string>, cwd: string, ready: RegExp): Promise<RunningProcess> {
  const [command, ...args] = argv as [string, ...string[]]
  const child = spawn(command === 'node' ? process.execPath : command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let printed = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    return exited
  }
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()))
    child.stdout!.on('data', (chunk: Buffer) => {
      printed += chunk.toString()
      const match = ready.exec(printed)
      if (match?.[1]) resolve({ child, url: match[1], output: () => printed, exited, stop })
    })
    void exited.then((code) => reject(new Error(`${argv.join(' ')} exited (code ${code}) before it was ready:\n${printed}`)))
  })
}

function run(argv: string[], env: Record<string, string>): number | null {
  const [command, ...args] = argv as [string, ...string[]]
  return spawnSync(command === 'node' ? process.execPath : command, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 15_000 }).status
}

const stages = dockerStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const image = stages.at(-1)!
const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> }
const services = compose.services
const proxies = Object.entries(services).filter(([, service]) => service.build !== undefined)
const composeEnv = { JWT_SECRET: 'deployment-test-secret-0123456789abcdef' }
const entry = [...execForm(last(image, 'ENTRYPOINT')), ...execForm(last(image, 'CMD'))]
const containerConfig = entry[entry.indexOf('--config') + 1]!

/** The proxy service's environment, as compose would fill it. */
function proxyEnv(service: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, interpolate(String(value), composeEnv)]))
}

/** The host file compose mounts at `target` for `service`. */
function mountedFile(service: Service, target: string): string {
  const volume = (service.volumes ?? []).find((spec) => spec.split(':')[1] === target)
  if (volume === undefined) throw new Error(`nothing is mounted at ${target}`)
  return join(ROOT, volume.split(':')[0]!)
}

describe('Dockerfile', () => {
  it('builds in stages and runs the built dist as an unprivileged user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    const copies = image.instructions.filter((i) => i.op === 'COPY').map((i) => i.args)
    expect(copies.some((args) => /^--from=build\s+\/app\/dist\s/.test(args))).toBe(true)
    // Nothing is compiled in the final stage: no npm run, no TypeScript sources.
    expect(image.instructions.some((i) => i.op === 'RUN' && /npm (ci|install|run)/.test(i.args))).toBe(false)
    expect(copies.some((args) => /\bsrc\b/.test(args))).toBe(false)
    const user = last(image, 'USER')
    expect(user).toBeDefined()
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/)
  })

  it('enters with `yatagarasu serve --config FILE` and checks /health', () => {
    expect(last(image, 'WORKDIR')).toBe('/app')
    expect(entry.slice(0, 5)).toEqual(['node', 'dist/cli.js', 'serve', '--config', containerConfig])
    const healthcheck = last(image, 'HEALTHCHECK')!
    expect(healthcheck).toMatch(/--interval=\d+s/)
    const check = execForm(healthcheck.slice(healthcheck.indexOf(' CMD ') + 5))
    expect(check.join(' ')).toContain('/health')
  })
})

describe('compose.yaml', () => {
  it('runs two proxy instances from this Dockerfile, Redis and a local S3', () => {
    expect(proxies).toHaveLength(2)
    for (const [, service] of proxies) {
      expect(typeof service.build === 'string' ? service.build : service.build?.context).toBe('.')
      expect(mountedFile(service, containerConfig)).toBe(join(ROOT, 'deploy/config.yaml'))
      expect(Object.keys(service.depends_on ?? {}).sort()).toEqual(['redis', 's3'])
    }
    const hostPorts = proxies.map(([, service]) => service.ports?.[0]?.split(':')[0])
    expect(new Set(hostPorts).size).toBe(2)
    expect(services.redis?.image).toMatch(/^redis:/)
    // The demo's local S3, whose front gives suffix ranges S3's meaning (plain s3rver doesn't).
    expect(services.s3?.command).toEqual(expect.arrayContaining([expect.stringContaining('node deploy/local-s3.mjs')]))
    expect(services.s3?.working_dir).toBe('/srv')
    expect(services.s3?.volumes).toEqual(
      expect.arrayContaining(['./deploy/local-s3.mjs:/srv/deploy/local-s3.mjs:ro', './demo/local-s3.mjs:/srv/demo/local-s3.mjs:ro']),
    )
  })

  it('refuses to start without JWT_SECRET rather than use a default', () => {
    const [, service] = proxies[0]!
    expect(() => interpolate(String(service.environment?.JWT_SECRET), {})).toThrow(/JWT_SECRET/)
  })
})

describe('the compose config and the image entry command', () => {
  const [, proxy] = proxies[0]!
  const configFile = mountedFile(proxy, containerConfig)
  const env = proxyEnv(proxy)
  let s3: RunningProcess
  let s3Directory: string

  beforeAll(async () => {
    assertBuilt()
    s3Directory = mkdtempSync(join(tmpdir(), 'yatagarasu-local-s3-'))
    // The `s3` service's script, with the repository's s3rver.
    s3 = await startProcess(
      [process.execPath, join(ROOT, 'deploy/local-s3.mjs')],
      { S3_HOST: '127.0.0.1', S3_PORT: '0', S3_DIRECTORY: s3Directory },
      ROOT,
      /listening on (\S+)/,
    )
  })

  afterAll(async () => {
    await s3?.stop()
    rmSync(s3Directory, { recursive: true, force: true })
  })

  it('passes `yatagarasu check` with the instances\' environment, without warnings', async () => {
    const result = await runCli(['check', '--config', configFile], env)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('valid (2 buckets)')
    expect(result.stdout).not.toContain(composeEnv.JWT_SECRET)
  })

  it('serves the compose config: /health, objects from the local S3, a JWT bucket; HEALTHCHECK passes, then fails once stopped', async () => {
    const s3Endpoint = new URL(env.S3_ENDPOINT!)
    // Only the S3 host and the listen address differ from the container: PORT and HOST are the config's own variables.
    const server = await startProcess(
      entry.map((part) => (part === containerConfig ? configFile : part)),
      { ...env, S3_ENDPOINT: s3.url.replace('0.0.0.0', '127.0.0.1'), HOST: '127.0.0.1', PORT: '0' },
      ROOT,
      /"message":"listening"[^\n]*"url":"([^"]+)"/,
    )
    expect(s3Endpoint.hostname).toBe('s3')
    const port = new URL(server.url).port
    try {
      const health = await fetch(`${server.url}/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({ status: 'ok' })

      const first = await fetch(`${server.url}/assets/hello.txt`)
      expect(first.status).toBe(200)
      expect(await first.text()).toBe('Hello from Yatagarasu!\n')
      expect(first.headers.get('x-cache')).toBe('MISS')
      const second = await fetch(`${server.url}/assets/hello.txt`)
      expect(second.headers.get('x-cache')).toBe('HIT')
      await second.body?.cancel()

      // A suffix range means the last bytes, from the local S3 itself and through the proxy.
      const direct = await fetch(`${s3.url.replace('0.0.0.0', '127.0.0.1')}/assets/hello.txt`, { headers: { Range: 'bytes=-5' } })
      expect([direct.status, direct.headers.get('content-range'), await direct.text()]).toEqual([206, 'bytes 18-22/23', 'asu!\n'])
      const tail = await fetch(`${server.url}/assets/hello.txt`, { headers: { Range: 'bytes=-5' } })
      expect([tail.status, tail.headers.get('content-range'), await tail.text()]).toEqual([206, 'bytes 18-22/23', 'asu!\n'])

      expect((await fetch(`${server.url}/private/report.txt`)).status).toBe(401)
      const token = await new SignJWT({ role: 'viewer' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('deployment-test')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(composeEnv.JWT_SECRET))
      const report = await fetch(`${server.url}/private/report.txt`, { headers: { Authorization: `Bearer ${token}` } })
      expect(report.status).toBe(200)
      expect(await report.text()).toBe('For token holders only.\n')

      const healthcheck = last(image, 'HEALTHCHECK')!
      const check = execForm(healthcheck.slice(healthcheck.indexOf(' CMD ') + 5))
      expect(run(check, { PORT: port })).toBe(0)

      // docker stop sends SIGTERM: a drained, clean exit.
      expect(await server.stop('SIGTERM')).toBe(0)
      expect(run(check, { PORT: port })).not.toBe(0)
    } finally {
      await server.stop('SIGKILL')
    }
  })
})
