// Node.js runtime (Next's default): GET /api/s3/<bucket prefix>/<key>
import { parseConfig } from 'yatagarasu'
import { createRouteHandlers } from 'yatagarasu/vercel'

// Read on the first request, so `next build` needs no secrets.
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = createRouteHandlers(() => ({
  ...parseConfig(process.env.YATAGARASU_CONFIG ?? '', process.env),
  basePath: '/api/s3',
}))
