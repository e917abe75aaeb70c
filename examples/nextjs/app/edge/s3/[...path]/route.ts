// Edge runtime: GET /edge/s3/<bucket prefix>/<key>
import { parseConfig } from 'yatagarasu'
import { createRouteHandlers } from 'yatagarasu/vercel'

export const runtime = 'edge'

export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = createRouteHandlers(() => ({
  ...parseConfig(process.env.YATAGARASU_CONFIG ?? '', process.env),
  basePath: '/edge/s3',
}))
