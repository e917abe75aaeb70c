#!/usr/bin/env node
// Bundles hit-cost.ts (it imports src/ TypeScript) into bench/.build and runs it; see that file.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const out = `${root}bench/.build/hit-cost.mjs`
const built = spawnSync(`${root}node_modules/.bin/esbuild`, [`${root}bench/experiments/hit-cost.ts`, '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${out}`, '--log-level=warning'], { stdio: 'inherit' })
if (built.status !== 0) process.exit(built.status ?? 1)
process.exit(spawnSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: 'inherit' }).status ?? 1)
