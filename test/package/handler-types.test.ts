/**
 * The handler's type accepts what each runtime passes as the second argument, so the
 * plain handler type-checks where the docs say it works. These are compile-time checks
 * (`npm run typecheck` compiles the tests; a regression fails there, and `next build`
 * in test/conformance/nextjs.test.ts type-checks a bare `export const GET = handler`).
 */
import { describe, expect, it } from 'vitest'
import { createYatagarasu, type FetchHandler } from '../../src/index.js'

// The shapes the runtimes use (abridged): all are interfaces or object types sharing no
// field with HandlerContext, which a type of optional fields alone would refuse.
interface BunServer {
  port: number
  fetch(request: Request): Response | Promise<Response>
  requestIP(request: Request): { address: string } | null
}
interface DenoServeHandlerInfo {
  remoteAddr: { hostname: string; port: number }
  completed: Promise<void>
}
type NextRouteHandler = (request: Request, context: { params: Promise<{ path: string[] }> }) => void | Response | Promise<void | Response>

describe('FetchHandler', () => {
  const handler = createYatagarasu({ buckets: [{ name: 'c', pathPrefix: '/c', s3: { bucket: 'b', region: 'us-east-1', accessKey: 'a', secretKey: 's' } }] })

  it('is assignable where Bun, Deno and Next.js expect their handlers', () => {
    const bun: (request: Request, server: BunServer) => Promise<Response> = handler
    const deno: (request: Request, info: DenoServeHandlerInfo) => Promise<Response> = handler
    const next: NextRouteHandler = handler
    const plain: (request: Request) => Promise<Response> = handler
    expect([bun, deno, next, plain].every((f) => f === handler)).toBe(true)
  })

  it('still checks the fields of HandlerContext', async () => {
    const ok = handler(new Request('http://x/c/'), { clientIp: '192.0.2.1', waitUntil: () => {} })
    // @ts-expect-error clientIp is a string
    const wrongType = handler(new Request('http://x/c/'), { clientIp: 42 })
    // @ts-expect-error a known field with the wrong type is an error even next to unknown ones
    const mixed = handler(new Request('http://x/c/'), { rawPath: 1, params: {} })
    expect((await Promise.all([ok, wrongType, mixed])).map((r) => r.status)).toEqual([404, 404, 404])
  })

  it('an implementation reads the context fields with their types', async () => {
    const echo: FetchHandler = async (_request, context) => new Response(context?.clientIp ?? 'none')
    expect(await (await echo(new Request('http://x/'), { clientIp: '::1' })).text()).toBe('::1')
  })
})
