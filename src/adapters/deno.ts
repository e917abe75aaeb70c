/**
 * `yatagarasu/deno`: serves a fetch handler with `Deno.serve`.
 *
 * The handler already runs as `Deno.serve(handler)` (the `ServeHandlerInfo` passed
 * as the second argument is ignored). Deno keeps the request target as received in
 * `request.url` (`\\`, `..`, `%2E%2E` included), so the router refuses those with 400
 * either way. The adapter adds the client IP (`info.remoteAddr`) and a `waitUntil` that
 * a graceful `close()` waits for.
 */
import type { FetchHandler } from '../context.js'
import { consoleLogger, type Logger } from '../logging/logger.js'
import { backgroundTasks } from './background.js'

/** The parts of Deno's `ServeHandlerInfo` the adapter uses. */
export interface DenoServeHandlerInfo {
  remoteAddr: { hostname: string; port: number; transport?: string }
}

/** The parts of Deno's `HttpServer` the adapter uses. */
export interface DenoHttpServer {
  readonly finished: Promise<void>
  shutdown(): Promise<void>
}

/** What `Deno.serve` calls for each request. */
export type DenoHandler = (request: Request, info: DenoServeHandlerInfo) => Promise<Response>

declare const Deno: {
  serve(
    options: { port?: number; hostname?: string; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: DenoHandler,
  ): DenoHttpServer
}

export interface DenoServeOptions {
  /** Default 0: a free port. */
  port?: number
  /** Default `127.0.0.1`. */
  hostname?: string
  /** Where failed background work (a cache write) is reported. Default: {@link consoleLogger}. */
  logger?: Logger
}

export interface YatagarasuDenoServer {
  /** `http://hostname:port`. */
  url: string
  /** Deno's `HttpServer`. */
  server: DenoHttpServer
  /** Stops accepting, waits for in-flight responses and `waitUntil` work, then resolves. */
  close(): Promise<void>
}

/**
 * Adapts a handler to `Deno.serve`, passing the client IP.
 *
 * @example
 * Deno.serve({ port: 8080 }, toDenoHandler(createYatagarasu(config)))
 */
export function toDenoHandler(handler: FetchHandler, waitUntil?: (promise: Promise<unknown>) => void): DenoHandler {
  return (request, info) => {
    const clientIp = info?.remoteAddr?.hostname
    return handler(request, { ...(clientIp !== undefined && { clientIp }), ...(waitUntil && { waitUntil }) })
  }
}

/**
 * Serves a handler with `Deno.serve` on `hostname:port` (default `127.0.0.1:0`).
 *
 * @example
 * const server = await serve(createYatagarasu(config), { port: 8080 })
 * console.log(server.url)
 */
export async function serve(handler: FetchHandler, options: DenoServeOptions = {}): Promise<YatagarasuDenoServer> {
  const background = backgroundTasks(options.logger ?? consoleLogger)
  const hostname = options.hostname ?? '127.0.0.1'
  let listened!: (port: number) => void
  const port = new Promise<number>((resolve) => (listened = resolve))
  const server = Deno.serve(
    { port: options.port ?? 0, hostname, onListen: (addr) => listened(addr.port) },
    toDenoHandler(handler, background.waitUntil),
  )
  let closing: Promise<void> | undefined
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${await port}`,
    server,
    close: () =>
      (closing ??= (async () => {
        // Graceful: stops accepting and resolves once in-flight responses are done.
        await server.shutdown()
        await background.settled()
      })()),
  }
}
