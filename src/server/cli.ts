#!/usr/bin/env node
/**
 * The `yatagarasu` command: `serve` and `check` a config file.
 * Exit codes: 0 success, 1 invalid config or failure to start, 2 usage error.
 */
import { ConfigError } from '../errors.js'
import { readInvocation, UsageError, type Invocation } from './args.js'
import { loadConfigFile, warningsOf } from './config-file.js'
import { startServer } from './server.js'
import { handleSignals } from './signals.js'
import { formatIssues, summarize } from './summary.js'
import { VERSION } from './version.js'

const HELP = `yatagarasu ${VERSION}: an authenticated, cached, streaming, read-only HTTP proxy for S3

Usage:
  yatagarasu serve --config FILE [--port N] [--host H]
  yatagarasu check --config FILE
  yatagarasu --help | --version

Commands:
  serve    Run the proxy. /health, /ready and /metrics are served on the same port
           (configurable). SIGTERM/SIGINT drain requests in flight and exit 0;
           SIGHUP reloads the config file (an invalid file is reported, the running
           config stays).
  check    Validate the config file and print a summary (secrets masked). Exits 1
           with every problem listed (path and line) when the file is invalid.

Options:
  -c, --config FILE   YAML or JSON config file (default: $YATAGARASU_CONFIG).
                      \${VAR} and \${VAR:-default} are filled from the environment.
  -p, --port N        Listen on this port (overrides server.address; 0 = any free port).
      --host H        Listen on this interface (overrides server.address).
  -h, --help          Show this help.
  -v, --version       Show the version.

Docs: docs/server.md, docs/configuration.md
`

export async function main(argv: readonly string[]): Promise<number> {
  let invocation: Invocation
  try {
    invocation = readInvocation(argv, process.env)
  } catch (error) {
    return usage(error)
  }
  switch (invocation.command) {
    case 'help':
      process.stdout.write(HELP)
      return 0
    case 'version':
      process.stdout.write(`${VERSION}\n`)
      return 0
    case undefined:
      process.stderr.write(HELP)
      return 2
    case 'check':
      return check(invocation.config)
    case 'serve':
      return serveCommand(invocation.config, invocation.port, invocation.host)
  }
}

async function check(path: string): Promise<number> {
  try {
    const loaded = await loadConfigFile(path)
    if (loaded.warnings.length > 0) process.stderr.write(`${formatIssues(loaded.warnings, 'warning: ')}\n`)
    process.stdout.write(summarize(loaded))
    return 0
  } catch (error) {
    return configFailure(error, path)
  }
}

async function serveCommand(path: string, port: number | undefined, host: string | undefined): Promise<number> {
  let server: Awaited<ReturnType<typeof startServer>>
  try {
    server = await startServer({ configPath: path, ...(port !== undefined && { port }), ...(host !== undefined && { host }) })
  } catch (error) {
    if (error instanceof ConfigError) return configFailure(error, path)
    const code = (error as NodeJS.ErrnoException).code
    process.stderr.write(`yatagarasu: cannot start: ${code ?? (error instanceof Error ? error.message : String(error))}\n`)
    return 1
  }
  handleSignals(server)
  // A log reader that went away (`yatagarasu serve | head`) must not take the proxy down.
  process.stdout.on('error', () => {})
  // Runs until a signal ends the process.
  return new Promise<number>(() => {})
}

function configFailure(error: unknown, path: string): number {
  if (!(error instanceof ConfigError)) throw error
  const warnings = warningsOf(error)
  if (warnings.length > 0) process.stderr.write(`${formatIssues(warnings, 'warning: ')}\n`)
  const count = error.issues.length
  process.stderr.write(`${path}: invalid config (${count} problem${count === 1 ? '' : 's'}):\n${formatIssues(error.issues, '  ')}\n`)
  return 1
}

function usage(error: unknown): number {
  if (!(error instanceof UsageError)) throw error
  process.stderr.write(`yatagarasu: ${error.message}\nRun 'yatagarasu --help' for usage.\n`)
  return 2
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`yatagarasu: unexpected failure: ${error instanceof Error ? error.name : String(error)}\n`)
    process.exitCode = 1
  },
)
