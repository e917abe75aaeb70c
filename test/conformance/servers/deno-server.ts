/**
 * The conformance target on the real `deno`: the built package, imported by name as a
 * user would. MODE=adapter uses `yatagarasu/deno`; MODE=plain passes the handler
 * straight to `Deno.serve`, which calls it with a `ServeHandlerInfo`.
 */
import { createYatagarasu, silentLogger } from 'yatagarasu'
import { serve } from 'yatagarasu/deno'

declare const Deno: {
  env: { get(name: string): string | undefined }
  addSignalListener(signal: string, listener: () => void): void
  exit(code: number): never
  serve(options: { port: number; hostname: string; onListen(addr: { port: number }): void }, handler: unknown): unknown
}

const config = JSON.parse(Deno.env.get('YATAGARASU_CONFIG')!)
// sharp is imported only when a bucket enables images, as a user would.
const imageTransformer = config.buckets.some((bucket: { images?: unknown }) => bucket.images)
  ? (await import('yatagarasu/images-sharp')).sharpTransformer()
  : undefined
const handler = createYatagarasu(config, { logger: silentLogger, ...(imageTransformer && { imageTransformer }) })
if (Deno.env.get('MODE') === 'plain') {
  Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`) }, handler)
} else {
  const server = await serve(handler)
  console.log(`listening on ${server.url}`)
  // Graceful: in-flight responses and cache writes finish before the process exits.
  Deno.addSignalListener('SIGTERM', () => void server.close().then(() => Deno.exit(0)))
}
