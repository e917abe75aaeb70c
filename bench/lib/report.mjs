/**
 * Turns the results of `npm run bench` into docs/benchmarks.md (tables, targets met or
 * not), docs/benchmarks.svg (the main ratios) and docs/benchmarks.json (raw figures).
 * bench/notes.md (hand-written: profiles, fixes with their before/after) is appended.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

const f0 = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—')
const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : '—')
const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : '—')
const ms = (n) => (Number.isFinite(n) ? (n < 1 ? `${(n * 1000).toFixed(0)} µs` : `${n.toFixed(2)} ms`) : '—')
const kb = (size) => (size >= 1 << 30 ? `${size / 2 ** 30} GB` : size >= 1 << 20 ? `${size / 2 ** 20} MB` : `${size / 1024} KB`)
const mark = (ok) => (ok === undefined ? '— (not measured)' : ok ? '✅ met' : '❌ not met')

/** The targets of issue 7, each with its measured value; `ok` undefined when not measured. */
/** The memory table's rows for the figures after full GCs (what streams hold, against what RSS shows). */
function settledRows(memory) {
  const rows = []
  for (const [kind, label] of [['fast', 'fast'], ['slow', 'slow']]) {
    const st = memory[kind]?.settled
    if (!st) continue
    rows.push(
      `| ${label} | ${Math.round(st.rssBeforeGcKB)} KB | ${Math.round(st.rssKB)} KB | **${Math.round(st.liveKB)} KB** (${Math.round(st.heapUsedKB)} KB heap, ${Math.round(st.arrayBuffersKB)} KB ArrayBuffers) | ${st.arrayBuffersBeforeGcMB.toFixed(1)} MB | +${st.heapTotalGrowthMB.toFixed(1)} MB |`,
    )
  }
  if (!rows.length) return []
  return [
    `The same run, mid-window with every stream active, before and after full garbage collections (\`--expose-gc\`, bench/lib/memory-probe.mjs); each figure is against the idle process after the same GCs, divided by ${memory.streams}. "Live" is what the streams really hold; the rest of RSS is garbage V8 has not collected yet (mostly the 64 KB ArrayBuffers of chunks already sent, freed in batches) and the young generation V8 grew to its maximum, neither of which grows with the number of streams.`,
    '',
    '| clients | RSS per stream, before GC | RSS per stream, after GC | live per stream | ArrayBuffers before GC (process) | V8 heap reserved, vs idle |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ]
}

/** The memory table's rows for the same probe on the node:http pipe and through both bridges. */
function referenceRows(memory) {
  const refs = Object.values(memory.references ?? {})
  if (!refs.length) return []
  const cell = (run) => (run ? `${f0(run.perStreamKB)} KB${run.settled ? ` (live ${f0(run.settled.liveKB)} KB)` : ''}` : '—')
  return [
    `The same probe, the same clients and objects, on a bare node:http pipe (no web streams, no signing) and on the same handler through the two reference bridges, each in a fresh process: RSS per stream (peak − idle) / ${memory.streams}, and what is live after full GCs.`,
    '',
    '| server | fast clients | slow clients |',
    '| --- | --- | --- |',
    `| yatagarasu, Node adapter | ${cell(memory.fast)} | ${cell(memory.slow)} |`,
    ...refs.map((ref) => `| ${ref.label} | ${cell(ref.fast)} | ${cell(ref.slow)} |`),
    '',
  ]
}

export function targets(results) {
  const out = []
  const hit = results.hit?.results
  // Issue 12: ≥ 0.8 × the node:http floor at 1 KB, ≥ 0.9 × at 100 KB; ≥ 0.9 × Bun.serve's floor.
  const hitGoal = { 1024: 0.8, 102400: 0.9 }
  for (const size of results.hit?.sizes ?? []) {
    const goal = hitGoal[size] ?? 0.8
    const node = hit[`node-proxy/${size}`]?.rps / hit[`node-floor/${size}`]?.rps
    out.push({ id: `hit-node-${size}`, name: `cache-hit RPS, Node adapter, ${kb(size)}`, target: `≥ ${goal} × Node floor`, value: `${f2(node)} ×`, ratio: node, goal, ok: valid(node) && node >= goal })
    const bridges = bestBridge(hit, (id) => `${id}/${size}`, 'rps')
    if (bridges) {
      const ratio = hit[`node-proxy/${size}`]?.rps / bridges.value
      out.push({ id: `hit-bridges-${size}`, name: `cache-hit RPS, Node adapter vs the better bridge (${bridges.label}), ${kb(size)}`, target: '≥ 1.0 × the better of @hono/node-server and srvx', value: `${f2(ratio)} ×`, ratio, goal: 1, ok: valid(ratio) && ratio >= 1 })
    }
    const bun = hit[`bun-proxy/${size}`]?.rps / hit[`bun-floor/${size}`]?.rps
    out.push({ id: `hit-bun-${size}`, name: `cache-hit RPS, Bun.serve, ${kb(size)}`, target: '≥ 0.9 × Bun floor', value: `${f2(bun)} ×`, ratio: bun, goal: 0.9, ok: valid(bun) ? bun >= 0.9 : undefined })
  }
  const pass = results.pass?.results
  if (pass) {
    const c = results.pass.loads.at(-1)
    const node = pass[`node-proxy/c${c}`]?.rps
    const vsPipe = node / pass[`node-pipe/c${c}`]?.rps
    if (valid(vsPipe)) out.push({ id: 'pass-pipe', name: `pass-through RPS at ${c} connections, Node adapter vs a bare node:http pipe proxy`, target: '≥ 0.8 × pipe', value: `${f2(vsPipe)} ×`, ratio: vsPipe, goal: 0.8, ok: vsPipe >= 0.8 })
    const vsPeer = node / pass[`s3proxy/c${c}`]?.rps
    if (valid(vsPeer)) out.push({ id: 'pass-s3proxy', name: `pass-through RPS at ${c} connections, Node adapter vs s3proxy`, target: '≥ 2 × s3proxy', value: `${f2(vsPeer)} ×`, ratio: vsPeer / 2, goal: 1, ok: vsPeer >= 2 })
    const undici = pass[`undici-proxy/c${c}`]?.rps
    if (valid(undici / node)) {
      out.push({ id: 'pass-undici', name: `pass-through RPS at ${c} connections, Node adapter with the undiciFetch transport (candidate) vs nodeFetch`, target: '> 1 × switches the transport', value: `${f2(undici / node)} × (${f2(undici / pass[`node-pipe/c${c}`]?.rps)} × pipe, ${f2(undici / pass[`s3proxy/c${c}`]?.rps)} × s3proxy)`, ratio: undici / node, info: true })
    }
    const bridges = bestBridge(pass, (id) => `${id}/c${c}`, 'rps')
    if (bridges) {
      const ratio = node / bridges.value
      out.push({ id: 'pass-bridges', name: `pass-through RPS at ${c} connections, Node adapter vs the better bridge (${bridges.label})`, target: '≥ 1.0 × the better bridge', value: `${f2(ratio)} ×`, ratio, goal: 1, ok: valid(ratio) && ratio >= 1 })
    }
  }
  const stream = results.stream?.results
  if (stream) {
    for (const id of ['node-proxy', 'bun-proxy']) {
      const ratio = stream[id]?.mbps / stream.direct?.mbps
      if (!valid(ratio)) continue
      out.push({ id: `stream-${id}`, name: `streaming ${kb(results.stream.size)}, ${id === 'node-proxy' ? 'Node adapter' : 'Bun.serve'}`, target: '≥ 0.9 × direct', value: `${f2(ratio)} ×`, ratio, goal: 0.9, ok: ratio >= 0.9 })
    }
    const vsPipe = stream['node-proxy']?.mbps / stream['node-pipe']?.mbps
    if (valid(vsPipe)) out.push({ id: 'stream-pipe', name: `streaming ${kb(results.stream.size)}, Node adapter vs a bare node:http pipe`, target: '≥ 0.9 × pipe', value: `${f2(vsPipe)} ×`, ratio: vsPipe, goal: 0.9, ok: vsPipe >= 0.9 })
    const undici = stream['undici-proxy']?.mbps / stream['node-proxy']?.mbps
    if (valid(undici)) out.push({ id: 'stream-undici', name: `streaming ${kb(results.stream.size)}, Node adapter with the undiciFetch transport (candidate) vs nodeFetch`, target: '> 1 × switches the transport', value: `${f2(undici)} × (${f2(stream['undici-proxy'].mbps / stream['node-pipe']?.mbps)} × pipe)`, ratio: undici, info: true })
    const bridges = bestBridge(stream, (id) => id, 'mbps')
    if (bridges) {
      const ratio = stream['node-proxy']?.mbps / bridges.value
      out.push({ id: 'stream-bridges', name: `streaming ${kb(results.stream.size)}, Node adapter vs the better bridge (${bridges.label})`, target: '≥ 1.0 × the better bridge', value: `${f2(ratio)} ×`, ratio, goal: 1, ok: valid(ratio) && ratio >= 1 })
    }
  }
  for (const kind of ['fast', 'slow']) {
    const run = results.memory?.[kind]
    if (!run) continue
    const ok = run.perStreamKB <= 256 && (kind === 'fast' || run.maxOriginRatePerStreamMBps <= run.clientRatePerStreamMBps * 1.1)
    out.push({ id: `memory-${kind}`, name: `RSS per active stream, ${kind} clients (Node)`, target: kind === 'fast' ? '≤ 256 KB' : '≤ 256 KB, origin read ≤ client pace', value: `${f0(run.perStreamKB)} KB`, budget: run.perStreamKB / 256, ok })
    const pipe = results.memory.references?.['node-pipe']?.[kind]
    if (pipe) {
      // Issue 12's fallback when GC slack dominates: the same probe on a bare node:http pipe, plus 64 KB.
      const over = run.perStreamKB - pipe.perStreamKB
      const bridges = Object.entries(BRIDGE_LABELS)
        .map(([id, name]) => [name, results.memory.references[id]?.[kind]?.perStreamKB])
        .filter(([, kb]) => valid(kb))
        .map(([name, kb]) => `${name} ${f0(kb)} KB`)
      out.push({
        id: `memory-pipe-${kind}`,
        name: `RSS per active stream, ${kind} clients (Node), against the same probe on a bare node:http pipe`,
        target: '≤ pipe + 64 KB',
        value: `${f0(run.perStreamKB)} KB vs pipe ${f0(pipe.perStreamKB)} KB${bridges.length ? ` (${bridges.join(', ')})` : ''}`,
        budget: Math.max(0, over) / 64,
        ok: over <= 64,
      })
    }
    if (run.settled) {
      // Not the issue's measure (RSS is), shown beside it: what the streams hold once garbage is collected.
      out.push({ id: `memory-live-${kind}`, name: `live memory per active stream after full GCs, ${kind} clients (Node; heap + ArrayBuffers, section 4)`, target: '≤ 256 KB', value: `${f0(run.settled.liveKB)} KB`, budget: run.settled.liveKB / 256, ok: run.settled.liveKB <= 256, info: true })
    }
  }
  const stalled = results.stalled?.results?.['node-proxy']
  if (stalled) {
    out.push({ id: 'stalled-hit', name: `process memory per stalled cache-hit connection (${results.stalled.connections} × one cached ${kb(results.stalled.size)} object, never read), Node adapter`, target: '≤ 256 KB', value: `${f0(stalled.perConnectionKB)} KB`, budget: stalled.perConnectionKB / 256, ok: stalled.perConnectionKB <= 256 })
  }
  for (const [id, run] of Object.entries(results.disconnect ?? {})) {
    if (id === 'node-pipe') continue // a reference, not a target
    const who = id === 'node-proxy' ? 'Node adapter' : 'Bun.serve'
    // The bare pipe's worst trial beside it: what the kernel's socket buffers let the origin send with no proxy logic at all (section 5).
    const pipe = results.disconnect['node-pipe']
    const beside = pipe ? ` (node:http pipe ${f2(pipe.maxAfterMB)} MB, same run)` : ''
    out.push({ id: `disc-bytes-${id}`, name: `pulled from origin after disconnect, ${who}`, target: '≤ 1 MB (worst trial)', value: `${f2(run.maxAfterMB)} MB${beside}`, budget: run.maxAfterMB / 1, ok: run.maxAfterMB <= 1 })
    out.push({ id: `disc-time-${id}`, name: `time to cancel the origin request, ${who}`, target: '≤ 100 ms (worst trial)', value: ms(run.maxCancelMs), budget: run.maxCancelMs / 100, ok: run.maxCancelMs <= 100 })
  }
  if (pass) {
    for (const id of ['node-proxy', 'bun-proxy', 's3proxy']) {
      if (!pass[`${id}/c1`]) continue
      const added = pass[`${id}/c1`].p50 - pass['direct/c1'].p50
      const who = { 'node-proxy': 'Node adapter', 'bun-proxy': 'Bun.serve', s3proxy: 's3proxy (peer, for comparison)' }[id]
      out.push({ id: `pass-${id}`, name: `pass-through added latency p50, ${who}`, target: '≤ 0.5 ms', value: ms(added), budget: added / 0.5, ok: id === 's3proxy' ? undefined : added <= 0.5, info: id === 's3proxy' })
    }
  }
  const images = results.images
  if (images) {
    const ratio = images.proxy.rate / images.floor.rate
    const memory = images.proxy.peakMB / images.floor.peakMB
    out.push({ id: 'images-rate', name: `image transforms per second, ${megapixels(images)} JPEG → 800-px WebP, proxy vs sharp alone (section 7)`, target: 'beside the floor', value: `${f2(ratio)} ×`, ratio, info: true })
    out.push({ id: 'images-memory', name: `peak RSS while transforming, proxy vs sharp alone (section 7)`, target: 'beside the floor', value: `${f2(memory)} ×`, ratio: memory, info: true })
  }
  const delivery = results.delivery?.results
  if (delivery) {
    const names = { 'gzip-hit': 'compressed cache hit (gzip)', redirect: 'presigned redirect (307)', 'stale-hit': 'stale hit (X-Cache: STALE, revalidating)' }
    for (const [id, what] of Object.entries(names)) {
      if (delivery[id] === undefined) continue
      const ratio = delivery[id].rps / delivery['plain-hit']?.rps
      out.push({ id: `delivery-${id}`, name: `${what} RPS vs a plain cache hit, Node adapter, ${kb(results.delivery.size)} (section 8)`, target: 'beside a plain hit', value: `${f2(ratio)} ×`, ratio, info: true })
    }
  }
  return out
}

const megapixels = (images) => `${f0((images.width * images.height) / 1e6)}-megapixel`

const valid = (n) => Number.isFinite(n) && n > 0

const BRIDGE_LABELS = { 'hono-proxy': '@hono/node-server', 'srvx-proxy': 'srvx' }

/** The faster of the reference bridges in these results: `{ value, label }`, or undefined when none ran. */
function bestBridge(results, key, field) {
  let best
  for (const [id, label] of Object.entries(BRIDGE_LABELS)) {
    const value = results[key(id)]?.[field]
    if (valid(value) && (best === undefined || value > best.value)) best = { value, label }
  }
  return best
}

export function writeReport(results, docsDir) {
  const md = markdown(results)
  const svg = chart(results)
  writeFileSync(path.join(docsDir, 'benchmarks.md'), md)
  writeFileSync(path.join(docsDir, 'benchmarks.svg'), svg)
  writeFileSync(path.join(docsDir, 'benchmarks.json'), JSON.stringify(results, null, 2) + '\n')
  return ['docs/benchmarks.md', 'docs/benchmarks.svg', 'docs/benchmarks.json']
}

function markdown(results) {
  const { env, settings } = results
  const lines = []
  const push = (...l) => lines.push(...l)
  push(
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench` (bench/run.mjs); edit bench/lib/report.mjs or bench/notes.md instead. -->',
    '',
    `Measured ${env.date.slice(0, 16).replace('T', ' ')} UTC by \`npm run bench${settings.quick ? ' -- --quick' : ''}\` at commit \`${env.commit}\`${env.dirty ? ' (with uncommitted changes in src/)' : ''}, in ${f0(results.elapsedSeconds)} s.`,
    '',
    `| machine | |`,
    '| --- | --- |',
    `| CPU | ${env.cpu}, ${env.cores} cores; ${env.memoryGB} GB RAM; ${env.kernel} |`,
    `| runtimes | Node ${env.node}; Bun ${env.bun ?? '**not available**'}${env.s3proxy ? `; ${env.s3proxy} (peer)` : ''} |`,
    `| references | nginx ${env.nginx ?? '**not available**'}; load generator ${env.wrk ?? env.loadTool} |`,
    `| load from other processes | 1-minute load average ${f1(env.loadAverageAtStart)} at the start, ${f1(env.loadAverageAtEnd)} at the end (the bench itself keeps ~2 busy); a shared machine makes single runs noisy, hence medians and same-run ratios |`,
    `| method | ${settings.quick ? '**quick mode**: ' : ''}median of ${settings.runs} runs per figure (${settings.streamRuns} for streaming); servers pinned to core 0, load generator to core 1 (taskset) for the request-rate scenarios; everything on 127.0.0.1 |`,
    '',
  )
  if (results.partial) {
    const again = results.env.rerun
    push(`> Re-measured ${again.date.slice(0, 16).replace('T', ' ')} UTC at commit \`${again.commit}\` (\`npm run bench -- --only=${results.partial.scenarios.join(',')}\`): ${results.partial.scenarios.join(', ')}; load average ${f1(again.loadAverageAtStart)} → ${f1(again.loadAverageAtEnd)}. The other sections are from the run above.`, '')
  }
  if (results.notes.length) {
    push('> **Not everything could run:**', ...results.notes.map((n) => `> - ${n}`), '')
  }

  push('## Targets', '', '![main ratios](benchmarks.svg)', '', '| target | goal | measured | |', '| --- | --- | --- | --- |')
  for (const t of targets(results)) push(`| ${t.name} | ${t.target} | ${t.value} | ${t.info ? 'info' : mark(t.ok)} |`)
  push('')

  if (results.hit) {
    const { hit } = results
    push(
      '## 1. Cache hits',
      '',
      `\`GET\` of a cached object, ${hit.connections} keep-alive connections, ${hit.seconds} s per run. The floors answer the same bytes from memory with no logic at all; nginx serves from its \`proxy_cache\` (one worker, like the one Node/Bun process). The two references serve the same handler (same config, same warm cache, same S3 transport) through \`@hono/node-server\` and \`srvx\` instead of the Node adapter. Ratios are against the floor of the same runtime.`,
      '',
      '| server | size | req/s | p50 | p99 | vs floor | runs (req/s) |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    )
    for (const size of hit.sizes) {
      for (const target of hit.targets) {
        const r = hit.results[`${target.id}/${size}`]
        if (!r) continue
        const floorId = target.id.startsWith('bun') ? 'bun-floor' : 'node-floor'
        const ratio = r.rps / hit.results[`${floorId}/${size}`]?.rps
        const vs = target.id.endsWith('floor') ? '1.00 (floor)' : `${f2(ratio)} × ${floorId === 'bun-floor' ? 'Bun' : 'Node'} floor`
        push(`| ${target.label} | ${kb(size)} | ${f0(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${vs} | ${r.runs.join(', ')}${r.errors ? ` (**${r.errors} errors**)` : ''} |`)
      }
    }
    push('')
  }

  if (results.pass) {
    const { pass } = results
    push(
      '## 2. Pass-through (cache off) and 6. the s3proxy peer',
      '',
      `\`GET\` of a ${kb(pass.size)} object from the origin through each proxy, with no cache: one connection (the added latency of a request, no queueing) and ${pass.loads[1]} connections (under load). ${pass.seconds} s per run. s3proxy is the npm package, served the way its README shows (\`proxy.pipe(req, res)\` on \`node:http\`) on Node 22, which it requires. The node:http pipe proxies with no signing and no logic (the floor of any Node proxy); the two references serve the same handler through \`@hono/node-server\` and \`srvx\`. The "undiciFetch transport (candidate)" row is the Node adapter reaching the origin through undici's dispatcher instead of \`node:http\` (docs/architecture.md).`,
      '',
      '| server | connections | req/s | p50 | p99 | added p50 | added p99 |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    )
    for (const c of pass.loads) {
      const direct = pass.results[`direct/c${c}`]
      for (const target of pass.targets) {
        const r = pass.results[`${target.id}/c${c}`]
        if (!r) continue
        const added = target.id === 'direct' ? ['—', '—'] : [ms(r.p50 - direct.p50), ms(r.p99 - direct.p99)]
        push(`| ${target.label} | ${c} | ${f0(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${added[0]} | ${added[1]} |${r.errors ? ` **${r.errors} errors**` : ''}`)
      }
    }
    push('')
  }

  if (results.stream) {
    const { stream } = results
    push(
      `## 3. Streaming one ${kb(stream.size)} object`,
      '',
      `One client (${stream.client}) downloading the object as fast as it can; origin, proxy and client share the two cores.`,
      '',
      '| path | MB/s | vs direct | vs node:http pipe | runs |',
      '| --- | --- | --- | --- | --- |',
    )
    for (const target of stream.targets) {
      const r = stream.results[target.id]
      const pipe = stream.results['node-pipe']?.mbps
      push(`| ${target.label} | ${f0(r.mbps)} | ${f2(r.mbps / stream.results.direct.mbps)} × | ${pipe ? `${f2(r.mbps / pipe)} ×` : '—'} | ${r.runs.join(', ')} |`)
    }
    push('', 'The pipe is not a target, only context: a bare node:http proxy with no web streams pays the extra hop too (its process needs a core of its own, which origin and client compete for).')
    push('')
  }

  if (results.memory) {
    const { memory } = results
    const { fast, slow } = memory
    push(
      '## 4. Memory per active stream (Node adapter)',
      '',
      `${memory.streams} concurrent downloads of ${kb(memory.size)} objects through the pass-through bucket, in a fresh proxy process warmed up by a few streams. Per stream = (peak RSS − idle RSS) / ${memory.streams}. Peak: the kernel's VmHWM (reset before the run), or RSS sampled every 20 ms.`,
      '',
      '| clients | idle RSS | peak RSS | per stream | duration | client throughput | complete |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      `| fast (read as fast as they can) | ${f1(fast.idleMB)} MB | ${f1(fast.peakMB)} MB | **${f0(fast.perStreamKB)} KB** | ${f1(fast.seconds)} s | ${f0(fast.clientMBps)} MB/s total | ${fast.complete}/${memory.streams} |`,
      `| slow (1 MB/s each, stopped after ${f0(slow.seconds)} s) | ${f1(slow.idleMB)} MB | ${f1(slow.peakMB)} MB | **${f0(slow.perStreamKB)} KB** | ${f1(slow.seconds)} s | ${f0(slow.clientMBps)} MB/s total | (stopped) |`,
      '',
      ...settledRows(memory),
      ...referenceRows(memory),
      `Backpressure with slow clients: over the second half of the window the origin was read at a median ${f2(slow.originRatePerStreamMBps)} MB/s per stream (fastest stream ${f2(slow.maxOriginRatePerStreamMBps)} MB/s) while each client read ${f2(slow.clientRatePerStreamMBps)} MB/s; at the end the origin had sent a median ${f1(slow.medianAheadMB)} MB (at most ${f1(slow.maxAheadMB)} MB) more than its client had read — that is the kernel's socket buffers on the three hops, filled once, not a growing backlog.`,
      '',
    )
  }

  if (results.stalled) {
    const { stalled } = results
    push(
      '## 4b. Stalled cache hits',
      '',
      `${stalled.connections} connections each request one cached ${kb(stalled.size)} object, read its first bytes, then never read again; each proxy in a fresh process with the object cached. Per connection = (RSS once steady − RSS before) / ${stalled.connections}; the kernel's socket buffers are kernel memory and not in it. "Live" is heap + ArrayBuffers after full GCs, against the same before.`,
      '',
      '| proxy | RSS per connection | peak RSS per connection | live per connection (after full GCs) |',
      '| --- | --- | --- | --- |',
    )
    for (const r of Object.values(stalled.results)) push(`| ${r.label} | **${f0(r.perConnectionKB)} KB** | ${f0(r.peakPerConnectionKB)} KB | ${f0(r.livePerConnectionKB)} KB |`)
    push('')
  }

  if (results.disconnect && Object.keys(results.disconnect).length) {
    push(
      '## 5. Disconnect cost',
      '',
      `A client reads 8 MB of a 1 GB object through the proxy as fast as it can, then drops the connection. The origin counts the bytes it hands to its socket with a timestamp (64 KB chunks); "after" is what it sent after the client left, "cancel" the time until the proxy closed the origin connection (both clocks are the machine's wall clock, sub-millisecond).`,
      '',
      '| proxy | after (median) | after (worst) | cancel (median) | cancel (worst) | trials |',
      '| --- | --- | --- | --- | --- | --- |',
    )
    for (const [id, r] of Object.entries(results.disconnect)) {
      const label = { 'node-proxy': 'yatagarasu, Node adapter', 'bun-proxy': 'yatagarasu, Bun.serve', 'node-pipe': 'node:http piping the origin (reference)' }[id] ?? id
      push(`| ${label} | ${f2(r.afterMB)} MB | ${f2(r.maxAfterMB)} MB | ${ms(r.cancelMs)} | ${ms(r.maxCancelMs)} | ${r.trials.length} |`)
    }
    push(
      '',
      'What the origin sends after the client left goes into the kernel\'s socket buffers between origin and proxy (several MB on loopback); the proxy does not read it. A bare node:http pipe shows the same; bench/notes.md has the measurement.',
      '',
    )
  }

  if (results.images) {
    const { images } = results
    push(
      '## 7. Image transforms',
      '',
      `A ${images.width}×${images.height} (${megapixels(images)}) JPEG of ${f1(images.sourceBytes / 2 ** 20)} MB to an 800-pixel-wide WebP, ${images.concurrency} at a time for ${images.seconds} s, median of ${images.proxy.runs.length} alternating rounds. The floor is sharp called directly on the same bytes with the same operation (orientation, resize, WebP at its default quality), no HTTP; the proxy answers \`?${images.query}\` with its S3 answering from memory and no cache, so each request is a transform. Peak memory is the process's VmHWM during the round (reset before it), the JPEG held once by each.`,
      '',
      '| | transforms / s | × floor | peak RSS | × floor | rounds (transforms / s) |',
      '| --- | --- | --- | --- | --- | --- |',
      `| sharp alone (floor) | ${f2(images.floor.rate)} | 1.00 × | ${f0(images.floor.peakMB)} MB | 1.00 × | ${images.floor.runs.join(', ')} |`,
      `| yatagarasu, Node adapter, sharpTransformer() | ${f2(images.proxy.rate)} | ${f2(images.proxy.rate / images.floor.rate)} × | ${f0(images.proxy.peakMB)} MB | ${f2(images.proxy.peakMB / images.floor.peakMB)} × | ${images.proxy.runs.join(', ')} |`,
      '',
    )
  }

  if (results.delivery) {
    const { delivery } = results
    const plain = delivery.results['plain-hit']?.rps
    push(
      '## 8. Compressed hits, presigned redirects and stale hits',
      '',
      `One Node-adapter proxy, ${delivery.connections} keep-alive connections, ${delivery.seconds} s per run, the rows alternating in each round. A plain cache hit of a ${kb(delivery.size)} object; a hit of the gzip copy of the same object (a bucket with \`compression\`, the client sending \`Accept-Encoding: gzip\`: the compressed bytes come from the cache, nothing is compressed per request); a bucket with \`redirect\` and no \`min_size\`, which answers every GET with a 307 to a freshly presigned URL (one SigV4 query signature per request, no S3 request)${delivery.results['stale-hit'] ? '; and a bucket whose entries are fresh for 1 ms and then served `X-Cache: STALE` within `stale_while_revalidate`, while one background conditional GET at a time (`If-None-Match`, answered 304) renews the entry — the revalidations run during the load, as in production' : ''}. Ratios are to the plain hit of the same run.`,
      '',
      '| | req/s | × plain hit | p50 | p99 | runs (req/s) |',
      '| --- | --- | --- | --- | --- | --- |',
    )
    for (const target of delivery.targets) {
      const r = delivery.results[target.id]
      if (!r) continue
      push(`| ${target.label} | ${f0(r.rps)} | ${f2(r.rps / plain)} × | ${ms(r.p50)} | ${ms(r.p99)} | ${r.runs.join(', ')} |`)
    }
    push('')
  }

  push(
    '## Running it',
    '',
    '```sh',
    'apt-get install -y nginx wrk   # the nginx reference and the load generator (else autocannon)',
    'npm run bench                  # ~16 min: every scenario, medians of 3 runs; rewrites docs/benchmarks.{md,svg,json}',
    'npm run bench -- --quick       # ~3 min: fewer and shorter runs, smaller objects for memory',
    'npm run bench -- --only=hit,pass --no-write   # some scenarios, print only',
    'npm run bench -- --only=stalled --bundle=OLD.mjs   # another build of bench/servers/proxy.ts (e.g. from an older commit)',
    'node bench/experiments/cpu-per-request.mjs floor node hono srvx   # CPU time per request, interleaved (steadier than req/s on a busy machine)',
    'npm run bench -- --only=images                # image transforms only (updates that section)',
    'npm run bench -- --only=delivery              # compressed hits, presigned redirects and stale hits beside a plain hit',
    'npm run bench -- --prof --only=hit            # Node proxies with --cpu-prof (bench/.profiles/)',
    'npm run bench -- --render                     # rewrite these docs from docs/benchmarks.json and bench/notes.md',
    'npx vitest bench --run         # micro-benchmarks: routing, signing, JWT verification per request',
    'node bench/experiments/stream-cpu.mjs 7 pipe:bench/servers/node-pipe.mjs proxy:bench/.build/proxy.mjs  # CPU and page faults per GB',
    'node bench/experiments/memory-breakdown.mjs slow   # heap, ArrayBuffers and RSS per stream, before and after full GCs',
    'node bench/experiments/disconnect-reads.mjs bench/.build/proxy.mjs   # what the proxy reads after a client leaves',
    '```',
    '',
    'The servers are in bench/servers/ (the origin speaks just enough S3 for the proxies and ignores signatures; s3rver would be the bottleneck). The s3proxy peer needs Node ≥ 22: the bench installs `node@22` and `s3proxy` into bench/.peers/ (git-ignored) on first use, so no `node` binary lands in the repository\'s node_modules/.bin.',
    '',
  )
  const notesFile = path.join(path.dirname(new URL(import.meta.url).pathname), '../notes.md')
  if (existsSync(notesFile)) push(readFileSync(notesFile, 'utf8').trim(), '')
  return lines.join('\n')
}

/** A bar chart of the main ratios (left) and the share of each budget used (right). */
function chart(results) {
  const all = targets(results).filter((t) => !t.info)
  const ratios = all.filter((t) => t.ratio !== undefined && valid(t.ratio))
  const budgets = all.filter((t) => t.budget !== undefined && Number.isFinite(t.budget))
  const rowH = 26
  const width = 1060 // room for the value after a full-length bar
  const panelW = 300
  const labelW = 170
  const rows = Math.max(ratios.length, budgets.length)
  const height = 80 + rows * rowH + 40
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">yatagarasu benchmarks — ${esc(results.env.date.slice(0, 10))}, ${esc(results.env.cpu)} ×${results.env.cores}, Node ${esc(results.env.node)}${results.env.bun ? `, Bun ${esc(results.env.bun)}` : ''}${results.settings.quick ? ' (quick)' : ''}</text>`,
  ]
  const panel = (x0, title, items, max, valueOf, goalOf, better, fmt) => {
    parts.push(`<text x="${x0}" y="50" font-weight="bold">${esc(title)}</text>`)
    const scale = (v) => (Math.min(v, max) / max) * panelW
    items.forEach((item, i) => {
      const y = 64 + i * rowH
      const v = valueOf(item)
      const ok = item.ok
      parts.push(
        `<text x="${x0 + labelW - 6}" y="${y + 14}" text-anchor="end">${esc(short(item))}</text>`,
        `<rect x="${x0 + labelW}" y="${y + 3}" width="${Math.max(1, scale(v)).toFixed(1)}" height="16" fill="${ok ? '#2e8b57' : '#c0392b'}"/>`,
        `<line x1="${(x0 + labelW + scale(goalOf(item))).toFixed(1)}" x2="${(x0 + labelW + scale(goalOf(item))).toFixed(1)}" y1="${y}" y2="${y + 22}" stroke="#000" stroke-dasharray="3,2"/>`,
        `<text x="${(x0 + labelW + scale(v) + 4).toFixed(1)}" y="${y + 15}">${esc(fmt(v))}${v > max ? ' ▶' : ''}</text>`,
      )
    })
    parts.push(`<text x="${x0 + labelW}" y="${64 + items.length * rowH + 16}" fill="#555">${esc(better)}</text>`)
  }
  panel(10, 'Throughput vs reference (× floor or × direct)', ratios, 1.2, (t) => t.ratio, (t) => t.goal, 'dashed line: the target; longer is better', (v) => `${v.toFixed(2)}×`)
  panel(500, 'Share of budget used (1 = at the limit)', budgets, 2, (t) => t.budget, () => 1, 'dashed line: the budget; shorter is better', (v) => v.toFixed(2))
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}

function short(t) {
  const map = {
    'hit-node-1024': 'hit 1 KB, Node',
    'hit-node-102400': 'hit 100 KB, Node',
    'hit-bun-1024': 'hit 1 KB, Bun',
    'hit-bun-102400': 'hit 100 KB, Bun',
    'hit-bridges-1024': 'hit 1 KB vs bridges',
    'hit-bridges-102400': 'hit 100 KB vs bridges',
    'pass-pipe': 'pass vs pipe, Node',
    'pass-s3proxy': 'pass vs 2× s3proxy',
    'pass-bridges': 'pass vs bridges',
    'stream-pipe': 'stream vs pipe, Node',
    'stream-bridges': 'stream vs bridges',
    'stream-node-proxy': 'stream, Node',
    'stream-bun-proxy': 'stream, Bun',
    'memory-fast': 'RSS/stream fast',
    'stalled-hit': 'stalled hit, Node',
    'memory-slow': 'RSS/stream slow',
    'disc-bytes-node-proxy': 'after disconnect, Node',
    'disc-time-node-proxy': 'cancel time, Node',
    'disc-bytes-bun-proxy': 'after disconnect, Bun',
    'disc-time-bun-proxy': 'cancel time, Bun',
    'pass-node-proxy': 'added p50, Node',
    'pass-bun-proxy': 'added p50, Bun',
  }
  return map[t.id] ?? t.id
}
