// Yatagarasu on Node.js: one public, cached bucket at /assets/<key>.
import { createYatagarasu } from 'yatagarasu'
import { serve } from 'yatagarasu/node'

const env = process.env
const handler = createYatagarasu({
  buckets: [
    {
      name: 'assets',
      pathPrefix: '/assets',
      s3: {
        bucket: env.S3_BUCKET,
        region: env.AWS_REGION ?? 'us-east-1',
        endpoint: env.S3_ENDPOINT, // unset: AWS itself
        accessKey: env.AWS_ACCESS_KEY_ID,
        secretKey: env.AWS_SECRET_ACCESS_KEY,
      },
      cache: { enabled: true, ttl: 300 },
    },
  ],
})

// `serve` passes the client IP, the raw path and a gzip-safe fetch to the handler.
const server = await serve(handler, { port: Number(env.PORT ?? 8080), hostname: env.HOST ?? '127.0.0.1' })
console.log(`listening on ${server.url}`)

// Finish in-flight downloads and cache writes before exiting.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close().then(() => process.exit(0)))
