import type { RunningServer } from './server.js'

export interface SignalOptions {
  /** Runs after the server stopped, before exiting (e.g. stop a demo's S3). */
  afterStop?: () => Promise<void> | void
  /** Default `process.exit`. */
  exit?: (code: number) => void
}

/**
 * SIGTERM and SIGINT: a graceful shutdown, then exit 0 (a second signal closes the
 * remaining connections at once). SIGHUP: reload the config file. Returns a function
 * that removes the handlers.
 */
export function handleSignals(server: RunningServer, options: SignalOptions = {}): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code))
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      server.logger.warn('second signal: closing every connection now', { signal })
      server.forceClose()
      return
    }
    stopping = true
    server.logger.info('signal received', { signal })
    void server
      .shutdown()
      .then(() => options.afterStop?.())
      .then(
        () => exit(0),
        (error: unknown) => {
          server.logger.error('shutdown failed', { error: error instanceof Error ? error.name : typeof error })
          exit(1)
        },
      )
  }
  const reload = () => {
    server.logger.info('signal received', { signal: 'SIGHUP' })
    void server.reload()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', reload)
  return () => {
    process.off('SIGTERM', stop)
    process.off('SIGINT', stop)
    process.off('SIGHUP', reload)
  }
}
