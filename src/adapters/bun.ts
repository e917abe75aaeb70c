/**
 * `yatagarasu/bun`: serves a fetch handler with `Bun.serve`.
 *
 * The handler already runs as `Bun.serve({ fetch: handler })` (Bun's server object,
 * passed as the second argument, is ignored). The adapter adds what Bun knows and the
 * handler cannot: the client IP (`server.requestIP`) for IP filters, rate limits and
 * logs, and a `waitUntil` that a graceful `close()` waits for.
 *
 * Bun normalises `request.url` before any handler sees it — `\\` becomes `/`, `.` and
 * `..` segments (also `%2E%2E`) are resolved — and gives no access to the target as
 * received. So `/cdn/a/../b` and `/private/..\\cdn\\b` are served as `/cdn/b` instead of
 * being refused with 400 as on Node, Deno and Workers. They never reach outside a
 * routed bucket: the normalised path is routed and authorised like any other, but a
 * front proxy that decides on the raw path sees another path than the proxy does
 * (docs/security.md).
 */
import type { FetchHandler } from '../context.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { backgroundTasks } from './background.js'

/** The parts of Bun's `Server` the adapter uses. */
export interface BunServer {
  readonly port: number
  requestIP(request: Request): { address: string } | null
  stop(closeActiveConnections?: boolean): Promise<void> | void
}

/** What `Bun.serve` calls for each request. */
export type BunFetch = (request: Request, server: BunServer) => Promise<Response>

declare const Bun: {
  serve(options: { port?: number; hostname?: string; fetch: BunFetch }): BunServer
}

export interface BunServeOptions {
  /** Default 0: a free port. */
  port?: number
  /** Default `127.0.0.1`. */
  hostname?: string
  /** Where failed background work (a cache write) is reported. Default: {@link consoleLogger}. */
  logger?: Logger
}

export interface YatagarasuBunServer {
  /** `http://hostname:port`. */
  url: string
  /** Bun's `Server`. */
  server: BunServer
  /** Stops accepting, waits for in-flight responses and `waitUntil` work, then resolves. */
  close(): Promise<void>
}

/**
 * Adapts a handler to `Bun.serve`'s `fetch`, passing the client IP.
 *
 * @example
 * Bun.serve({ port: 8080, fetch: toBunFetch(createYatagarasu(config)) })
 */
export function toBunFetch(handler: FetchHandler, waitUntil?: (promise: Promise<unknown>) => void): BunFetch {
  return (request, server) => {
    const clientIp = server?.requestIP?.(request)?.address
    return handler(request, { ...(clientIp !== undefined && { clientIp }), ...(waitUntil && { waitUntil }) })
  }
}

/**
 * Serves a handler with `Bun.serve` on `hostname:port` (default `127.0.0.1:0`).
 *
 * @example
 * const server = await serve(createYatagarasu(config), { port: 8080 })
 * console.log(server.url)
 */
export async function serve(handler: FetchHandler, options: BunServeOptions = {}): Promise<YatagarasuBunServer> {
  const background = backgroundTasks(options.logger ?? consoleLogger)
  const hostname = options.hostname ?? '127.0.0.1'
  const server = Bun.serve({ port: options.port ?? 0, hostname, fetch: toBunFetch(handler, background.waitUntil) })
  let closing: Promise<void> | undefined
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${server.port}`,
    server,
    close: () =>
      (closing ??= (async () => {
        // Without `true`, Bun stops accepting and resolves once in-flight requests finish.
        await server.stop()
        await background.settled()
      })()),
  }
}
