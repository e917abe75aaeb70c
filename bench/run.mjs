#!/usr/bin/env node
/**
 * `npm run bench [-- --quick] [-- --only=hit,pass,stream,memory,stalled,disconnect,images,delivery] [-- --prof]`
 *
 * Runs every scenario of docs/benchmarks.md in one go, each server in its own process
 * (pinned to core 0 where it matters), the load generator in another (core 1), the S3
 * side played by a fast local origin (bench/servers/origin.mjs), and writes
 * docs/benchmarks.md, docs/benchmarks.svg and docs/benchmarks.json. Every figure is a
 * median of several runs, and every target is a ratio to a reference measured in this
 * same command. `--quick` takes ~3 minutes with fewer, shorter runs (and smaller
 * objects for the memory scenario); the default ~16 minutes. `--prof` runs the Node
 * proxies with `--cpu-prof` (profiles in bench/.profiles/). `--no-write` prints only;
 * `--render` rewrites the docs from the last results and bench/notes.md; `--bundle=FILE`
 * measures another build of bench/servers/proxy.ts (e.g. one made at an older commit).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { load, LOAD_TOOL } from './lib/load.mjs'
import { freePort, get, median, memoryOf, now, resetPeak, rssSampler, run, sleep, startServer, stopAll, waitForHttp, which } from './lib/procs.mjs'
import { writeReport } from './lib/report.mjs'
import { timedLoops } from './lib/timed-loops.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BENCH = path.join(ROOT, 'bench')
const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const PROF = args.includes('--prof')
const WRITE = !args.includes('--no-write')
const ONLY = args.find((a) => a.startsWith('--only='))?.slice(7).split(',')
const wants = (scenario) => ONLY === undefined || ONLY.includes(scenario)

// `--render`: rewrite the docs from the last results (docs/benchmarks.json) and bench/notes.md, measuring nothing.
if (args.includes('--render')) {
  const written = writeReport(JSON.parse(readFileSync(path.join(ROOT, 'docs/benchmarks.json'), 'utf8')), path.join(ROOT, 'docs'))
  console.log(`wrote ${written.join(', ')}`)
  process.exit(0)
}

const SETTINGS = QUICK
  ? { runs: 2, hitSeconds: 3, passSeconds: 3, streamSize: 256 << 20, streamRuns: 2, memorySize: 64 << 20, slowSeconds: 6, disconnects: 3, stalled: 100 }
  : { runs: 3, hitSeconds: 8, passSeconds: 5, streamSize: 1 << 30, streamRuns: 5, memorySize: 256 << 20, slowSeconds: 20, disconnects: 5, stalled: 300 }
const CONNECTIONS = 32
// A 12-megapixel JPEG to an 800-pixel WebP, two at a time (one per core), proxy beside sharp alone.
const IMAGE = { width: 4000, height: 3000, concurrency: 2, query: 'w=800&fmt=webp', seconds: QUICK ? 5 : 12, runs: QUICK ? 2 : 3 }
const SIZES = [1024, 100 * 1024]
const STREAMS = 50
const SLOW_RATE = 1 << 20 // 1 MiB/s per client
const SERVER_CPU = 0
const LOAD_CPU = 1

const BUN = path.join(ROOT, 'node_modules/.bin/bun')
// The same handler (same config, same S3 transport) served by the Web-handler bridges people
// already use on Node, measured beside the Node adapter in every scenario (bench/servers/proxy.ts).
const BRIDGES = [
  { bridge: 'hono', id: 'hono-proxy', label: 'yatagarasu through @hono/node-server (reference)' },
  { bridge: 'srvx', id: 'srvx-proxy', label: 'yatagarasu through srvx, FastResponse (reference)' },
]
// The same Node adapter with the candidate S3 transport (src/s3/transports/undici.ts) instead of nodeFetch.
const UNDICI = { bridge: 'node+undici', id: 'undici-proxy', label: 'yatagarasu, Node adapter, undiciFetch transport (candidate)' }
const PEERS = path.join(BENCH, '.peers')
const S3PROXY_VERSION = '4.2.1'
const notes = [] // what could not run, loudly
const log = (...parts) => console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(0)}s]`, ...parts)
const t0 = performance.now()

process.on('SIGINT', async () => {
  await stopAll()
  process.exit(130)
})

async function main() {
  const env = environment()
  log(`${QUICK ? 'quick' : 'full'} run on ${env.cpu} ×${env.cores}, load generator: ${LOAD_TOOL}`)
  // `--bundle=FILE`: measure another build of bench/servers/proxy.ts (say, one made at an older commit).
  const proxyBundle = args.find((a) => a.startsWith('--bundle='))?.slice(9) ?? buildProxy()
  const results = { settings: { ...SETTINGS, connections: CONNECTIONS, streams: STREAMS, slowRate: SLOW_RATE, quick: QUICK }, env, notes }

  const origin = await startServer('origin', process.execPath, [path.join(BENCH, 'servers/origin.mjs')])
  try {
    const nodeProxyArgs = [...(PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(BENCH, '.profiles')}`] : []), proxyBundle, origin.url]
    // `probePort`: also answer memory usage there, with full GCs on request (memory scenario).
    // `bridge`: the Node adapter, or the same handler through a reference bridge (see BRIDGES).
    // `cpu: null` leaves it unpinned.
    const startNodeProxy = ({ cpu = SERVER_CPU, probePort = undefined, bridge = 'node' } = {}) =>
      probePort === undefined
        ? startServer(`proxy (${bridge})`, process.execPath, [...nodeProxyArgs, bridge], { cpu })
        : startServer(`proxy (${bridge})`, process.execPath, ['--expose-gc', '--import', path.join(BENCH, 'lib/memory-probe.mjs'), ...nodeProxyArgs, bridge], {
            cpu,
            env: { MEMORY_PROBE_PORT: String(probePort) },
          })
    const startPipe = () => startServer('node:http pipe', process.execPath, [path.join(BENCH, 'servers/node-pipe.mjs'), origin.url])
    const startBunProxy = ({ cpu = SERVER_CPU } = {}) =>
      env.bun ? startServer('proxy (Bun)', BUN, [path.join(BENCH, 'servers/proxy.ts'), origin.url], { cpu }) : undefined

    if (wants('hit')) results.hit = await cacheHit(origin, startNodeProxy, startBunProxy, env)
    if (wants('pass')) results.pass = await passThrough(origin, startNodeProxy, startBunProxy, env)
    if (wants('stream')) results.stream = await streaming(origin, startNodeProxy, startBunProxy)
    if (wants('memory')) results.memory = await memory(origin, startNodeProxy)
    if (wants('stalled')) results.stalled = await stalledHits(startNodeProxy)
    if (wants('disconnect')) results.disconnect = await disconnect(origin, startNodeProxy, startBunProxy, startPipe)
    if (wants('images')) results.images = await imageTransforms()
    if (wants('delivery')) results.delivery = await delivery(startNodeProxy)
  } finally {
    await stopAll()
  }
  results.elapsedSeconds = (performance.now() - t0) / 1000
  results.env.loadAverageAtEnd = os.loadavg()[0]
  console.log(JSON.stringify(results, null, 2))
  if (WRITE && ONLY !== undefined && existsSync(path.join(ROOT, 'docs/benchmarks.json'))) {
    // A partial run updates only its scenarios; the others keep the figures (and date) of the last run.
    const previous = JSON.parse(readFileSync(path.join(ROOT, 'docs/benchmarks.json'), 'utf8'))
    for (const scenario of ['hit', 'pass', 'stream', 'memory', 'stalled', 'disconnect', 'images', 'delivery']) {
      if (!ONLY.includes(scenario) && previous[scenario] !== undefined) results[scenario] = previous[scenario]
    }
    results.partial = { scenarios: ONLY, date: results.env.date, base: previous.env }
    results.env = { ...previous.env, rerun: results.env }
    // The previous settings, except the streaming runs when streaming was re-run.
    results.settings = { ...previous.settings, ...(ONLY.includes('stream') ? { streamRuns: SETTINGS.streamRuns } : {}) }
    results.elapsedSeconds = previous.elapsedSeconds
  }
  if (WRITE) {
    const written = writeReport(results, path.join(ROOT, 'docs'))
    log(`wrote ${written.join(', ')}`)
  }
  for (const note of notes) log(`NOTE: ${note}`)
}

function environment() {
  const version = (command, flag = '--version') => {
    const out = spawnSync(command, [flag], { encoding: 'utf8' })
    return out.status === 0 ? (out.stdout + out.stderr).trim().split('\n')[0] : undefined
  }
  const bun = existsSync(BUN) ? version(BUN) : undefined
  if (!bun) notes.push('Bun is not installed (node_modules/.bin/bun): the Bun rows are missing.')
  const nginx = which('nginx') ? version('nginx', '-v')?.replace(/^nginx version: /, '') : undefined
  if (!nginx) notes.push('nginx is not installed (`apt-get install -y nginx`): the nginx reference is missing.')
  if (LOAD_TOOL !== 'wrk') notes.push('wrk is not installed (`apt-get install -y wrk`): autocannon (Node) generated the load, and competes harder for CPU.')
  if (!which('taskset')) notes.push('taskset is missing: servers and load generator were not pinned to separate cores.')
  if (!which('curl')) notes.push('curl is missing: streaming used the Node client.')
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadAverageAtStart: os.loadavg()[0],
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    bun,
    nginx,
    wrk: LOAD_TOOL === 'wrk' ? version('wrk', '-v') : undefined,
    loadTool: LOAD_TOOL,
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
    dirty: spawnSync('git', ['status', '--porcelain', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '',
  }
}

/** Bundles bench/servers/proxy.ts (and src/) for Node with esbuild; dependencies stay in node_modules. */
function buildProxy(entry = 'proxy') {
  const outfile = path.join(BENCH, `.build/${entry}.mjs`)
  const out = spawnSync(
    path.join(ROOT, 'node_modules/.bin/esbuild'),
    [path.join(BENCH, `servers/${entry}.ts`), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external', `--outfile=${outfile}`, '--log-level=warning'],
    { encoding: 'utf8' },
  )
  if (out.status !== 0) throw new Error(`esbuild failed: ${out.stderr}`)
  return outfile
}

// --- 1. cache hit ------------------------------------------------------------

async function cacheHit(origin, startNodeProxy, startBunProxy, env) {
  log('cache hit: starting servers')
  const targets = []
  const nodeFloor = await startServer('node:http floor', process.execPath, [path.join(BENCH, 'servers/node-floor.mjs')], { cpu: SERVER_CPU })
  targets.push({ id: 'node-floor', label: 'node:http from memory (Node floor)', url: (size) => `${nodeFloor.url}/x/${size}`, server: nodeFloor })
  const nodeProxy = await startNodeProxy()
  targets.push({ id: 'node-proxy', label: 'yatagarasu, Node adapter', url: (size) => `${nodeProxy.url}/c/${size}`, server: nodeProxy, cached: true })
  for (const { bridge, id, label } of BRIDGES) {
    const server = await startNodeProxy({ bridge })
    targets.push({ id, label, url: (size) => `${server.url}/c/${size}`, server, cached: true })
  }
  if (env.bun) {
    const bunFloor = await startServer('Bun.serve floor', BUN, [path.join(BENCH, 'servers/bun-floor.ts')], { cpu: SERVER_CPU })
    targets.push({ id: 'bun-floor', label: 'Bun.serve from memory (Bun floor)', url: (size) => `${bunFloor.url}/x/${size}`, server: bunFloor })
    const bunProxy = await startBunProxy()
    targets.push({ id: 'bun-proxy', label: 'yatagarasu, Bun.serve', url: (size) => `${bunProxy.url}/c/${size}`, server: bunProxy, cached: true })
  }
  let nginx
  if (env.nginx) {
    try {
      nginx = await startNginx(origin.url)
      targets.push({ id: 'nginx', label: 'nginx proxy_cache (1 worker)', url: (size) => `${nginx.url}/c/${size}`, server: nginx, cached: true })
    } catch (error) {
      notes.push(`nginx failed to start: ${error.message.split('\n')[0]}`)
    }
  }
  try {
    // Fill the caches and check every target answers the right bytes (a HIT where cached).
    for (const target of targets) {
      for (const size of SIZES) {
        await get(target.url(size))
        const answer = await get(target.url(size))
        const hit = target.cached ? /HIT/.test(String(answer.headers['x-cache'])) : true
        if (answer.status !== 200 || answer.length !== size || !hit) {
          throw new Error(`${target.label} answered ${answer.status}, ${answer.length} bytes, X-Cache ${answer.headers['x-cache']} for ${size}`)
        }
        await load(target.url(size), { connections: CONNECTIONS, seconds: 1, cpu: LOAD_CPU }) // JIT warm-up
      }
    }
    const samples = {}
    for (let round = 0; round < SETTINGS.runs; round++) {
      for (const size of SIZES) {
        for (const target of targets) {
          const result = await load(target.url(size), { connections: CONNECTIONS, seconds: SETTINGS.hitSeconds, cpu: LOAD_CPU })
          ;(samples[`${target.id}/${size}`] ??= []).push(result)
          log(`hit ${target.id} ${size} B round ${round + 1}: ${result.rps.toFixed(0)} req/s p50 ${result.p50} ms p99 ${result.p99} ms${result.errors ? ` errors ${result.errors}` : ''}`)
        }
      }
    }
    return { connections: CONNECTIONS, seconds: SETTINGS.hitSeconds, sizes: SIZES, targets: targets.map(({ id, label }) => ({ id, label })), results: summarize(samples) }
  } finally {
    for (const target of targets) await target.server.stop()
  }
}

// --- 8. compressed hits, presigned redirects, stale hits ---------------------

/**
 * A compressed cache hit (gzip, stored compressed), a presigned redirect (307, no S3
 * request) and a stale hit (past its ttl, within stale_while_revalidate: served from the
 * cache while one background conditional GET at a time renews it), each as a ratio to a
 * plain cache hit of the same object by the same proxy process in the same rounds.
 */
async function delivery(startNodeProxy) {
  log('delivery: starting the proxy')
  const proxy = await startNodeProxy()
  const size = SIZES[0]
  const gzip = { 'Accept-Encoding': 'gzip' }
  const targets = [
    { id: 'plain-hit', label: 'cache hit, uncompressed (reference)', url: `${proxy.url}/c/${size}`, headers: {} },
    { id: 'gzip-hit', label: 'cache hit, gzip-compressed copy', url: `${proxy.url}/z/${size}`, headers: gzip },
    { id: 'redirect', label: '307 to a presigned S3 URL (no S3 request)', url: `${proxy.url}/r/${size}`, headers: {} },
    { id: 'stale-hit', label: 'stale hit (past its ttl; one background revalidation at a time, S3 answers 304)', url: `${proxy.url}/s/${size}`, headers: {} },
  ]
  try {
    // Fill the caches and check each answer is what it should be.
    for (const target of targets) {
      await get(target.url, { headers: target.headers })
      let answer = await get(target.url, { headers: target.headers })
      // The entry is written in the background; a stale one is expected once it has landed.
      for (let tries = 0; target.id === 'stale-hit' && answer.headers['x-cache'] === 'MISS' && tries < 20; tries++) {
        answer = await get(target.url, { headers: target.headers })
      }
      const hit = target.id === 'stale-hit' ? answer.headers['x-cache'] === 'STALE' : /HIT/.test(String(answer.headers['x-cache']))
      const right =
        target.id === 'redirect'
          ? answer.status === 307 && /X-Amz-Signature=/.test(String(answer.headers.location))
          : answer.status === 200 && hit && (target.id === 'gzip-hit' ? answer.headers['content-encoding'] === 'gzip' : answer.length === size)
      if (!right) throw new Error(`${target.label} answered ${answer.status}, X-Cache ${answer.headers['x-cache']}, ${answer.length} bytes`)
      await load(target.url, { connections: CONNECTIONS, seconds: 1, cpu: LOAD_CPU, headers: target.headers }) // JIT warm-up
    }
    const samples = {}
    for (let round = 0; round < SETTINGS.runs; round++) {
      for (const target of targets) {
        const result = await load(target.url, { connections: CONNECTIONS, seconds: SETTINGS.hitSeconds, cpu: LOAD_CPU, headers: target.headers })
        ;(samples[target.id] ??= []).push(result)
        log(`delivery ${target.id} round ${round + 1}: ${result.rps.toFixed(0)} req/s p50 ${result.p50} ms p99 ${result.p99} ms${result.errors ? ` errors ${result.errors}` : ''}`)
      }
    }
    return { connections: CONNECTIONS, seconds: SETTINGS.hitSeconds, size, targets: targets.map(({ id, label }) => ({ id, label })), results: summarize(samples) }
  } finally {
    await proxy.stop()
  }
}

async function startNginx(originUrl) {
  const prefix = mkdtempSync(path.join(os.tmpdir(), 'yatagarasu-nginx-'))
  const port = await freePort()
  const origin = new URL(originUrl)
  for (const dir of ['cache', 'client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(path.join(prefix, dir))
  writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `daemon off;
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
error_log ${prefix}/logs/error.log warn;
pid ${prefix}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  proxy_cache_path ${prefix}/cache levels=1:2 keys_zone=bench:10m max_size=1g inactive=60m use_temp_path=off;
  upstream origin { server ${origin.host}; keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    location /c/ {
      proxy_pass http://origin/bench/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_key $uri;
      proxy_cache_valid 200 1h;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`,
  )
  const [bin, argv] = ['taskset', ['-c', String(SERVER_CPU), 'nginx', '-p', prefix, '-c', path.join(prefix, 'nginx.conf')]]
  const { spawn } = await import('node:child_process')
  const child = spawn(which('taskset') ? bin : 'nginx', which('taskset') ? argv : argv.slice(2), { stdio: ['ignore', 'ignore', 'pipe'] })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/c/1`, 10_000)
  return {
    url,
    pid: child.pid,
    stop: async () => {
      await new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', resolve)
        child.kill('SIGQUIT')
        setTimeout(() => child.kill('SIGKILL'), 5000)
      })
      rmSync(prefix, { recursive: true, force: true })
    },
  }
}

/** Median of each metric over the rounds. */
function summarize(samples) {
  const out = {}
  for (const [key, runs] of Object.entries(samples)) {
    out[key] = {
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
      runs: runs.map((r) => Math.round(r.rps)),
    }
  }
  return out
}

// --- 2. pass-through, 6. the s3proxy peer ----------------------------------

async function passThrough(origin, startNodeProxy, startBunProxy, env) {
  log('pass-through: starting servers')
  const targets = [{ id: 'direct', label: 'origin directly', url: `${origin.url}/bench/1024` }]
  const servers = []
  const nodeProxy = await startNodeProxy()
  servers.push(nodeProxy)
  targets.push({ id: 'node-proxy', label: 'yatagarasu, Node adapter', url: `${nodeProxy.url}/p/1024` })
  for (const { bridge, id, label } of [UNDICI, ...BRIDGES]) {
    const server = await startNodeProxy({ bridge })
    servers.push(server)
    targets.push({ id, label, url: `${server.url}/p/1024` })
  }
  // The floor of any Node proxy: node:http piping the origin, no signing, no logic.
  const pipe = await startServer('node:http pipe', process.execPath, [path.join(BENCH, 'servers/node-pipe.mjs'), origin.url], { cpu: SERVER_CPU })
  servers.push(pipe)
  targets.push({ id: 'node-pipe', label: 'node:http piping the origin (Node proxy floor)', url: `${pipe.url}/p/1024` })
  if (env.bun) {
    const bunProxy = await startBunProxy()
    servers.push(bunProxy)
    targets.push({ id: 'bun-proxy', label: 'yatagarasu, Bun.serve', url: `${bunProxy.url}/p/1024` })
  }
  const peer = await startS3proxy(origin.url)
  if (peer) {
    servers.push(peer.server)
    env.s3proxy = peer.version
    targets.push({ id: 's3proxy', label: `s3proxy ${S3PROXY_VERSION} (node:http, Node ${peer.nodeVersion})`, url: `${peer.server.url}/p/1024` })
  }
  try {
    for (const target of targets) {
      const answer = await get(target.url)
      if (answer.status !== 200 || answer.length !== 1024) throw new Error(`${target.label} answered ${answer.status}, ${answer.length} bytes`)
      await load(target.url, { connections: CONNECTIONS, seconds: 1, cpu: LOAD_CPU })
    }
    const samples = {}
    for (let round = 0; round < SETTINGS.runs; round++) {
      for (const connections of [1, CONNECTIONS]) {
        for (const target of targets) {
          const result = await load(target.url, { connections, seconds: SETTINGS.passSeconds, cpu: LOAD_CPU })
          ;(samples[`${target.id}/c${connections}`] ??= []).push(result)
          log(`pass ${target.id} c${connections} round ${round + 1}: ${result.rps.toFixed(0)} req/s p50 ${result.p50} ms p99 ${result.p99} ms${result.errors ? ` errors ${result.errors}` : ''}`)
        }
      }
    }
    return { size: 1024, loads: [1, CONNECTIONS], seconds: SETTINGS.passSeconds, targets: targets.map(({ id, label }) => ({ id, label })), results: summarize(samples) }
  } finally {
    for (const server of servers) await server.stop()
  }
}

/** Installs node@22 and s3proxy into bench/.peers on first use (never into the repo's package.json). */
async function startS3proxy(originUrl) {
  const node = path.join(PEERS, 'node_modules/node/bin/node')
  const entry = path.join(PEERS, 'node_modules/s3proxy/dist/src/index.js')
  if (!existsSync(node) || !existsSync(entry)) {
    log(`installing node@22 and s3proxy@${S3PROXY_VERSION} into bench/.peers`)
    const npm = spawnSync('npm', ['install', '--prefix', PEERS, '--no-audit', '--no-fund', 'node@22', `s3proxy@${S3PROXY_VERSION}`], { encoding: 'utf8' })
    if (npm.status !== 0 || !existsSync(node) || !existsSync(entry)) {
      notes.push(`s3proxy could not be installed into bench/.peers (npm: ${(npm.stderr || '').trim().split('\n').pop()}): the peer row is missing.`)
      return undefined
    }
  }
  try {
    const nodeVersion = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
    const server = await startServer('s3proxy', node, [path.join(BENCH, 'servers/s3proxy.mjs'), originUrl, entry], { cpu: SERVER_CPU })
    return { server, nodeVersion, version: `s3proxy ${S3PROXY_VERSION} on Node ${nodeVersion}` }
  } catch (error) {
    notes.push(`s3proxy failed to start: ${error.message.split('\n')[0]}`)
    return undefined
  }
}

// --- 3. streaming --------------------------------------------------------------

async function streaming(origin, startNodeProxy, startBunProxy) {
  const size = SETTINGS.streamSize
  log(`streaming: ${size >> 20} MB objects`)
  // Not pinned: origin, proxy and client share both cores, as they would.
  const nodeProxy = await startNodeProxy({ cpu: null })
  const references = []
  for (const { bridge, id, label } of [UNDICI, ...BRIDGES]) references.push({ id, label, server: await startNodeProxy({ cpu: null, bridge }) })
  const bunProxy = await startBunProxy({ cpu: null })
  const pipe = await startServer('node:http pipe', process.execPath, [path.join(BENCH, 'servers/node-pipe.mjs'), origin.url])
  const targets = [
    { id: 'direct', label: 'origin directly', url: `${origin.url}/bench/${size}` },
    { id: 'node-pipe', label: 'node:http piping the origin (Node proxy floor)', url: `${pipe.url}/p/${size}` },
    { id: 'node-proxy', label: 'yatagarasu, Node adapter', url: `${nodeProxy.url}/p/${size}` },
    ...references.map(({ id, label, server }) => ({ id, label, url: `${server.url}/p/${size}` })),
    ...(bunProxy ? [{ id: 'bun-proxy', label: 'yatagarasu, Bun.serve', url: `${bunProxy.url}/p/${size}` }] : []),
  ]
  try {
    const samples = {}
    for (let round = 0; round < SETTINGS.streamRuns; round++) {
      for (const target of targets) {
        const { bytes, seconds } = await download(target.url)
        if (bytes !== size) throw new Error(`${target.label}: ${bytes} of ${size} bytes`)
        ;(samples[target.id] ??= []).push(bytes / 1e6 / seconds)
        log(`stream ${target.id} round ${round + 1}: ${(bytes / 1e6 / seconds).toFixed(0)} MB/s`)
      }
    }
    const results = {}
    for (const [id, runs] of Object.entries(samples)) results[id] = { mbps: median(runs), runs: runs.map((r) => Math.round(r)) }
    return { size, targets: targets.map(({ id, label }) => ({ id, label })), results, client: which('curl') ? 'curl' : 'node:http' }
  } finally {
    await nodeProxy.stop()
    for (const { server } of references) await server.stop()
    await bunProxy?.stop()
    await pipe.stop()
  }
}

async function download(url) {
  if (which('curl')) {
    const out = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', url], { timeoutMs: 300_000 })
    const [bytes, seconds] = out.trim().split(' ').map(Number)
    return { bytes, seconds }
  }
  const out = JSON.parse(await run(process.execPath, [path.join(BENCH, 'clients/download.mjs'), JSON.stringify({ url, count: 1 })], { timeoutMs: 300_000 }))
  return { bytes: out.bytes, seconds: out.seconds }
}

// --- 4. memory per stream ------------------------------------------------------

async function memory(origin, startNodeProxy) {
  const fast = await memoryRun(origin, startNodeProxy, 'fast', { rate: 0, seconds: 0 })
  const slow = await memoryRun(origin, startNodeProxy, 'slow', { rate: SLOW_RATE, seconds: SETTINGS.slowSeconds })
  // The same probe on the bare node:http pipe and through both bridges: what any Node
  // proxy's process grows by per stream (GC slack, allocator), the reference of the
  // "≤ pipe + 64 KB" target.
  const references = {}
  const startPipe = ({ cpu, probePort }) =>
    startServer('node:http pipe', process.execPath, ['--expose-gc', '--import', path.join(BENCH, 'lib/memory-probe.mjs'), path.join(BENCH, 'servers/node-pipe.mjs'), origin.url], {
      cpu,
      env: { MEMORY_PROBE_PORT: String(probePort) },
    })
  for (const { id, label, start } of [
    { id: 'node-pipe', label: 'node:http piping the origin', start: startPipe },
    ...BRIDGES.map(({ bridge, id, label }) => ({ id, label, start: (options) => startNodeProxy({ ...options, bridge }) })),
  ]) {
    try {
      references[id] = {
        label,
        fast: await memoryRun(origin, start, 'fast', { rate: 0, seconds: 0, tag: id }),
        slow: await memoryRun(origin, start, 'slow', { rate: SLOW_RATE, seconds: SETTINGS.slowSeconds, tag: id }),
      }
    } catch (error) {
      // A reference that fails leaves its row out; the adapter's own figures stand.
      notes.push(`memory: the ${label} reference failed (${error.message.split('\n')[0]}): its row is missing.`)
    }
  }
  return { streams: STREAMS, size: SETTINGS.memorySize, fast, slow, references }
}

async function memoryRun(origin, startProxy, kind, { rate, seconds, tag = 'node-proxy' }) {
  const size = SETTINGS.memorySize
  log(`memory: ${STREAMS} ${kind} clients, ${size >> 20} MB objects${seconds ? `, ${seconds} s` : ''}, ${tag}`)
  const probePort = await freePort()
  const proxy = await startProxy({ cpu: null, probePort })
  const probe = async (settle) => JSON.parse((await get(`http://127.0.0.1:${probePort}/${settle ? 'settled' : 'usage'}`, { keep: true })).body)
  try {
    // Warm up the streaming path (JIT, pools) so idle RSS includes what any proxy carries.
    for (let i = 0; i < 4; i++) await get(`${proxy.url}/p/${16 << 20}`)
    await Promise.all(Array.from({ length: 8 }, () => get(`${proxy.url}/p/${4 << 20}`)))
    await sleep(1000)
    const idle = memoryOf(proxy.pid).rss
    // The same after full GCs, the baseline of the "settled" figures below.
    const idleSettled = (await probe(true)).after
    await sleep(300)
    const resetOk = resetPeak(proxy.pid)
    await get(`${origin.url}/__reset`)
    const stopSampling = rssSampler(proxy.pid)
    const started = now()
    let finished = false
    const download = run(process.execPath, [path.join(BENCH, 'clients/download.mjs'), JSON.stringify({ url: `${proxy.url}/p/${size}/${kind}-{i}`, count: STREAMS, rate, seconds })], {
      timeoutMs: 600_000,
    }).finally(() => (finished = true))
    // Mid-window, every stream active: what is live after full GCs, against what RSS shows.
    // Late in the window, so the GCs it forces hardly touch the peak (it is reached early).
    await Promise.race([download, sleep(seconds > 0 ? seconds * 750 : QUICK ? 2000 : 8000)])
    let settled
    if (!finished) {
      const peakBefore = memoryOf(proxy.pid)
      const { before, after } = await probe(true)
      settled = { before, after, peakBeforeMB: Math.max(peakBefore.rss, resetOk ? peakBefore.hwm : 0) / 2 ** 20 }
    }
    const client = JSON.parse(await download)
    const peaks = stopSampling()
    const peak = Math.max(peaks.sampled, resetOk ? peaks.hwm : 0)
    await sleep(300)
    const records = JSON.parse((await get(`${origin.url}/__stats?prefix=${kind}-`, { keep: true })).body)
    const complete = client.streams.filter((s) => s.bytes === size).length
    const result = {
      idleMB: idle / 2 ** 20,
      peakMB: peak / 2 ** 20,
      perStreamKB: (peak - idle) / STREAMS / 1024,
      seconds: client.seconds,
      clientMBps: client.mbps,
      complete,
      peakSource: resetOk && peaks.hwm >= peaks.sampled ? 'VmHWM' : 'sampled VmRSS',
    }
    if (settled && idleSettled) {
      const per = (field) => (settled.after[field] - idleSettled[field]) / STREAMS / 1024
      result.settled = {
        // RSS right before the GCs, and after them, each against the settled idle RSS.
        rssBeforeGcKB: (settled.before.rss - idleSettled.rss) / STREAMS / 1024,
        rssKB: per('rss'),
        heapUsedKB: per('heapUsed'),
        arrayBuffersKB: per('arrayBuffers'),
        liveKB: per('heapUsed') + per('arrayBuffers'),
        heapTotalGrowthMB: (settled.after.heapTotal - idleSettled.heapTotal) / 2 ** 20,
        arrayBuffersBeforeGcMB: settled.before.arrayBuffers / 2 ** 20,
        peakBeforeMB: settled.peakBeforeMB,
      }
    }
    if (kind === 'slow') {
      // Backpressure check: over the last half of the window, the origin must not be read
      // faster than the clients read (the buffers between them are full by then).
      const half = started + (seconds * 1000) / 2
      const end = started + seconds * 1000 - 500
      const rates = []
      const excess = []
      for (const stream of client.streams) {
        const record = records[`${kind}-${stream.index}`]
        if (!record?.timeline?.length) continue
        const at = (t) => {
          let bytes = 0
          for (const [time, sent] of record.timeline) if (time <= t) bytes = sent
          return bytes
        }
        rates.push((at(end) - at(half)) / ((end - half) / 1000))
        excess.push(record.bytes - stream.bytes)
      }
      result.originRatePerStreamMBps = median(rates) / 2 ** 20
      result.maxOriginRatePerStreamMBps = Math.max(...rates) / 2 ** 20
      result.clientRatePerStreamMBps = SLOW_RATE / 2 ** 20
      result.medianAheadMB = median(excess) / 2 ** 20
      result.maxAheadMB = Math.max(...excess) / 2 ** 20
      result.clientBytesPerStreamMB = median(client.streams.map((s) => s.bytes)) / 2 ** 20
    }
    log(
      `memory ${kind} ${tag}: idle ${result.idleMB.toFixed(1)} MB, peak ${result.peakMB.toFixed(1)} MB, ${result.perStreamKB.toFixed(0)} KB/stream` +
        (result.settled ? `; after full GCs ${result.settled.rssKB.toFixed(0)} KB/stream RSS, ${result.settled.liveKB.toFixed(0)} KB/stream live (heap + ArrayBuffers)` : ''),
    )
    return result
  } finally {
    await proxy.stop()
  }
}

// --- 4b. stalled cache hits --------------------------------------------------

const STALLED_SIZE = 8 << 20

/**
 * Connections that each request one cached 8 MB object and then stop reading: what each
 * pins in the proxy's process beyond the kernel's socket buffers (kernel memory, not in
 * RSS). The same through the reference bridges.
 */
async function stalledHits(startNodeProxy) {
  const count = SETTINGS.stalled
  const out = { connections: count, size: STALLED_SIZE, results: {} }
  for (const { bridge, id, label } of [{ bridge: 'node', id: 'node-proxy', label: 'yatagarasu, Node adapter' }, ...BRIDGES]) {
    log(`stalled hits: ${count} connections to one cached ${STALLED_SIZE >> 20} MB object, ${id}`)
    const probePort = await freePort()
    const proxy = await startNodeProxy({ cpu: null, probePort, bridge })
    const probe = async (settle) => JSON.parse((await get(`http://127.0.0.1:${probePort}/${settle ? 'settled' : 'usage'}`, { keep: true })).body)
    const url = `${proxy.url}/c/${STALLED_SIZE}`
    const sockets = []
    try {
      for (let i = 0; i < 3; i++) await get(url)
      const answer = await get(url)
      if (answer.status !== 200 || answer.length !== STALLED_SIZE || !/HIT/.test(String(answer.headers['x-cache']))) {
        throw new Error(`${label} answered ${answer.status}, ${answer.length} bytes, X-Cache ${answer.headers['x-cache']}`)
      }
      await sleep(500)
      const idleSettled = (await probe(true)).after
      const idle = memoryOf(proxy.pid).rss
      const resetOk = resetPeak(proxy.pid)
      const { port } = new URL(proxy.url)
      await Promise.all(
        Array.from({ length: count }, () =>
          new Promise((resolve, reject) => {
            const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(`GET /c/${STALLED_SIZE} HTTP/1.1\r\nHost: bench\r\n\r\n`))
            sockets.push(socket)
            // The head and the first bytes arrived: from now on nothing is read.
            socket.once('data', () => {
              socket.pause()
              resolve()
            })
            socket.once('error', reject)
          }),
        ),
      )
      const rss = await steadyRss(proxy.pid)
      const peak = resetOk ? memoryOf(proxy.pid).hwm : rss
      const settled = (await probe(true)).after
      out.results[id] = {
        label,
        idleMB: idle / 2 ** 20,
        rssMB: rss / 2 ** 20,
        perConnectionKB: (rss - idle) / count / 1024,
        peakPerConnectionKB: (peak - idle) / count / 1024,
        settledPerConnectionKB: (settled.rss - idleSettled.rss) / count / 1024,
        livePerConnectionKB: (settled.heapUsed + settled.arrayBuffers - idleSettled.heapUsed - idleSettled.arrayBuffers) / count / 1024,
      }
      log(`stalled ${id}: ${out.results[id].perConnectionKB.toFixed(0)} KB RSS per connection (peak ${out.results[id].peakPerConnectionKB.toFixed(0)} KB), ${out.results[id].livePerConnectionKB.toFixed(0)} KB live after full GCs`)
    } finally {
      for (const socket of sockets) socket.destroy()
      await proxy.stop()
    }
  }
  return out
}

/** RSS once it stopped moving (three samples 300 ms apart within 1 %), at most 10 s. */
async function steadyRss(pid) {
  const samples = [memoryOf(pid).rss]
  for (let i = 0; i < 33; i++) {
    await sleep(300)
    samples.push(memoryOf(pid).rss)
    const last = samples.slice(-3)
    if (last.length === 3 && Math.max(...last) - Math.min(...last) <= Math.max(...last) * 0.01) break
  }
  return samples.at(-1)
}

// --- 5. disconnect -------------------------------------------------------------

async function disconnect(origin, startNodeProxy, startBunProxy, startPipe) {
  const out = {}
  // The bare node:http pipe is the reference: what the hop costs with no proxy logic at all.
  for (const [id, start] of [['node-proxy', startNodeProxy], ['bun-proxy', startBunProxy], ['node-pipe', startPipe]]) {
    const proxy = await start({ cpu: null })
    if (!proxy) continue
    try {
      const trials = []
      for (let i = 0; i < SETTINGS.disconnects; i++) trials.push(await disconnectOnce(origin, proxy, `disc-${id}-${i}`))
      out[id] = {
        trials,
        afterMB: median(trials.map((t) => t.afterBytes)) / 2 ** 20,
        maxAfterMB: Math.max(...trials.map((t) => t.afterBytes)) / 2 ** 20,
        cancelMs: median(trials.map((t) => t.cancelMs)),
        maxCancelMs: Math.max(...trials.map((t) => t.cancelMs)),
      }
      log(`disconnect ${id}: ${out[id].afterMB.toFixed(2)} MB after, cancelled in ${out[id].cancelMs.toFixed(1)} ms (median)`)
    } finally {
      await proxy.stop()
    }
  }
  return out
}

/** Reads 8 MB of a 1 GB object through the proxy as fast as possible, then drops the connection. */
function disconnectOnce(origin, proxy, tag) {
  const readBytes = 8 << 20
  return new Promise((resolve, reject) => {
    let received = 0
    let leftAt = 0
    const request = http.get(`${proxy.url}/p/${1 << 30}/${tag}`, { agent: false }, (response) => {
      response.on('data', (chunk) => {
        received += chunk.length
        if (leftAt === 0 && received >= readBytes) {
          leftAt = now()
          request.destroy()
          void settle()
        }
      })
    })
    request.on('error', () => {})
    async function settle() {
      const deadline = Date.now() + 3000
      for (;;) {
        await sleep(50)
        const record = JSON.parse((await get(`${origin.url}/__stats?prefix=${tag}`, { keep: true })).body)[tag]
        if (!record) return reject(new Error(`origin has no record of ${tag}`))
        if (record.closedAt > 0 || Date.now() > deadline) {
          let atLeave = 0
          for (const [time, sent] of record.timeline) if (time <= leftAt) atLeave = sent
          return resolve({
            receivedBytes: received,
            afterBytes: record.bytes - atLeave,
            cancelMs: record.closedAt > 0 ? record.closedAt - leftAt : Infinity,
          })
        }
      }
    }
  })
}

// --- 7. image transforms -----------------------------------------------------

/**
 * Transforms per second and peak memory (VmHWM) for a 12-megapixel JPEG to an 800-pixel
 * WebP: the proxy (`?w=800&fmt=webp`, its S3 answering from memory, no cache) against
 * sharp called directly on the same bytes (bench/servers/image-floor.mjs), the same
 * number at a time, alternating rounds. Neither process is pinned: libvips uses every core.
 */
async function imageTransforms() {
  const { default: sharp } = await import('sharp')
  const { width, height, concurrency, query, seconds, runs } = IMAGE
  mkdirSync(path.join(BENCH, '.build'), { recursive: true })
  const jpegPath = path.join(BENCH, '.build/photo-12mp.jpg')
  // Photo-like content: a gradient with noise, so JPEG has real work (a flat image decodes too easily).
  const raw = Buffer.alloc(width * height * 3)
  let seed = 42
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    raw[i] = ((i % (width * 3)) / (width * 3)) * 200 + (seed >> 24)
  }
  writeFileSync(jpegPath, await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer())
  const sourceBytes = readFileSync(jpegPath).byteLength
  log(`images: ${width}×${height} JPEG (${(sourceBytes / 2 ** 20).toFixed(1)} MB) → ${query}, ${concurrency} at a time`)
  const floor = await startServer('image floor', process.execPath, [path.join(BENCH, 'servers/image-floor.mjs'), jpegPath])
  const proxy = await startServer('image proxy', process.execPath, [buildProxy('image-proxy'), jpegPath])
  const url = `${proxy.url}/i/photo.jpg?${query}`
  try {
    const check = await get(url, { keep: true })
    const out = await sharp(check.body).metadata()
    if (check.status !== 200 || out.format !== 'webp' || out.width !== 800) throw new Error(`image proxy answered ${check.status} ${out.format} ${out.width}px`)
    await get(`${floor.url}/run?concurrency=${concurrency}&seconds=1`) // warm-up
    await proxyLoops(url, concurrency, 1)
    const samples = { floor: [], proxy: [] }
    for (let round = 0; round < runs; round++) {
      for (const [id, server, measure] of [
        ['floor', floor, async () => JSON.parse((await get(`${floor.url}/run?concurrency=${concurrency}&seconds=${seconds}`, { keep: true })).body)],
        ['proxy', proxy, () => proxyLoops(url, concurrency, seconds)],
      ]) {
        resetPeak(server.pid)
        const { transforms, seconds: took } = await measure()
        const peakMB = memoryOf(server.pid).hwm / 2 ** 20
        samples[id].push({ rate: transforms / took, peakMB })
        log(`images ${id} round ${round + 1}: ${(transforms / took).toFixed(2)} transforms/s, peak ${peakMB.toFixed(0)} MB`)
      }
    }
    const summary = (id) => ({
      rate: median(samples[id].map((r) => r.rate)),
      peakMB: median(samples[id].map((r) => r.peakMB)),
      runs: samples[id].map((r) => +r.rate.toFixed(2)),
    })
    return { width, height, sourceBytes, query, concurrency, seconds, floor: summary('floor'), proxy: summary('proxy') }
  } finally {
    await floor.stop()
    await proxy.stop()
  }
}

/** `concurrency` clients, each requesting the variant again as soon as the last one arrived, for `seconds`. */
async function proxyLoops(url, concurrency, seconds) {
  const { completed, seconds: took } = await timedLoops(concurrency, seconds, async () => {
    const answer = await get(url)
    if (answer.status !== 200) throw new Error(`image proxy answered ${answer.status}`)
  })
  return { transforms: completed, seconds: took }
}

main().catch(async (error) => {
  console.error(error)
  await stopAll()
  process.exit(1)
})
