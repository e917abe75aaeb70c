// Yatagarasu as a Cloudflare Worker: one public, cached bucket at /assets/<key>.
import { createYatagarasu, type FetchHandler } from 'yatagarasu'

/** The Worker's bindings: the same variables as the other examples (config.capnp, or Wrangler vars/secrets). */
interface Env {
  S3_BUCKET: string
  AWS_REGION?: string | null
  S3_ENDPOINT?: string | null
  AWS_ACCESS_KEY_ID: string
  AWS_SECRET_ACCESS_KEY: string
}

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void
}

// Made on the first request, where `env` exists, and reused by the isolate.
let handler: FetchHandler | undefined

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    handler ??= createYatagarasu({
      buckets: [
        {
          name: 'assets',
          pathPrefix: '/assets',
          s3: {
            bucket: env.S3_BUCKET,
            region: env.AWS_REGION ?? 'us-east-1',
            ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}), // unset: AWS itself
            accessKey: env.AWS_ACCESS_KEY_ID,
            secretKey: env.AWS_SECRET_ACCESS_KEY,
          },
          cache: { enabled: true, ttl: 300 }, // per isolate
        },
      ],
    })
    // Cache writes finish after the response, on the Worker's own clock.
    return handler(request, { waitUntil: (promise) => ctx.waitUntil(promise) })
  },
}
