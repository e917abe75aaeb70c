// Yatagarasu on Deno: one public, cached bucket at /assets/<key>.
import { createYatagarasu } from 'yatagarasu'
import { toDenoHandler } from 'yatagarasu/deno'

const env = Deno.env.toObject()
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

// `Deno.serve(handler)` works too; `toDenoHandler` adds the client IP and the raw path.
Deno.serve(
  {
    port: Number(env.PORT ?? 8080),
    hostname: env.HOST ?? '127.0.0.1',
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}`),
  },
  toDenoHandler(handler),
)
