/**
 * The conformance target on the real `bun`: the built package, imported by name as a
 * user would. MODE=adapter uses `yatagarasu/bun`; MODE=plain passes the handler
 * straight to `Bun.serve({ fetch })`, which calls it with Bun's server object.
 */
import { createYatagarasu, silentLogger } from 'yatagarasu'
import { serve } from 'yatagarasu/bun'

declare const Bun: { serve(options: { port: number; hostname: string; fetch: unknown }): { port: number } }
declare const process: { env: Record<string, string | undefined>; once(signal: string, listener: () => void): void; exit(code: number): never }

const config = JSON.parse(process.env.YATAGARASU_CONFIG!)
// sharp is imported only when a bucket enables images, as a user would.
const imageTransformer = config.buckets.some((bucket: { images?: unknown }) => bucket.images)
  ? (await import('yatagarasu/images-sharp')).sharpTransformer()
  : undefined
const handler = createYatagarasu(config, { logger: silentLogger, ...(imageTransformer && { imageTransformer }) })
if (process.env.MODE === 'plain') {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: handler })
  console.log(`listening on http://127.0.0.1:${server.port}`)
} else {
  const server = await serve(handler)
  console.log(`listening on ${server.url}`)
  // Graceful: in-flight responses and cache writes finish before the process exits.
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)))
}
