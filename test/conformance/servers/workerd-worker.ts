/**
 * The conformance target on Cloudflare's `workerd`: a module worker that imports the
 * package by name, bundled the way Wrangler bundles a Worker. The config arrives as a
 * text binding; background work goes to the Worker's own `ctx.waitUntil`.
 */
import { createYatagarasu, silentLogger, type FetchHandler } from 'yatagarasu'

interface Env {
  YATAGARASU_CONFIG: string
}
interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void
}

let handler: FetchHandler | undefined

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    handler ??= createYatagarasu(JSON.parse(env.YATAGARASU_CONFIG), { logger: silentLogger })
    const clientIp = request.headers.get('cf-connecting-ip') ?? undefined
    return handler(request, { waitUntil: (promise) => ctx.waitUntil(promise), ...(clientIp && { clientIp }) })
  },
}
