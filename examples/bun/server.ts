// Yatagarasu on Bun: one public, cached bucket at /assets/<key>.
import { createYatagarasu } from 'yatagarasu'
import { toBunFetch } from 'yatagarasu/bun'

const env = process.env
const handler = createYatagarasu({
  buckets: [
    {
      name: 'assets',
      pathPrefix: '/assets',
      s3: {
        bucket: env.S3_BUCKET!,
        region: env.AWS_REGION ?? 'us-east-1',
        endpoint: env.S3_ENDPOINT, // unset: AWS itself
        accessKey: env.AWS_ACCESS_KEY_ID!,
        secretKey: env.AWS_SECRET_ACCESS_KEY!,
      },
      cache: { enabled: true, ttl: 300 },
    },
  ],
})

// `Bun.serve({ fetch: handler })` works too; `toBunFetch` adds the client IP.
const server = Bun.serve({ port: Number(env.PORT ?? 8080), hostname: env.HOST ?? '127.0.0.1', fetch: toBunFetch(handler) })
console.log(`listening on ${server.url}`)
