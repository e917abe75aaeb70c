/**
 * Setup file of the `unit` and `fuzz` projects: their tests start no server and no other
 * process. Listening on a socket or spawning a child fails the test with a pointer to where
 * such a file belongs, so the fast set stays fast and runs anywhere. (msw, which intercepts
 * requests inside the process, is fine; so is esbuild, whose JS API runs its own binary as
 * a helper process to bundle.)
 */
import childProcess from 'node:child_process'
import net from 'node:net'
import { syncBuiltinESMExports } from 'node:module'

function refuse(what: string): never {
  throw new Error(`unit tests start no ${what}: list this test file under INTEGRATION (or CONFORMANCE) in vitest.config.ts`)
}

net.Server.prototype.listen = function listen(): never {
  refuse('servers')
}
const ESBUILD = /[/\\](esbuild|@esbuild[/\\][^/\\]+[/\\]bin[/\\]esbuild)(\.exe)?$/
const spawn = childProcess.spawn
childProcess.spawn = ((command: string, ...rest: unknown[]) => {
  if (!ESBUILD.test(command)) refuse('processes')
  return (spawn as (...args: unknown[]) => unknown)(command, ...rest)
}) as typeof childProcess.spawn
for (const name of ['spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
  ;(childProcess as unknown as Record<string, unknown>)[name] = () => refuse('processes')
}
// `import { spawn } from 'node:child_process'` binds to the ESM view of the module: update it too.
syncBuiltinESMExports()
