/** The conformance scenarios against the Node adapter (`yatagarasu/node`), over real HTTP. */
import { serve } from '../../src/adapters/node.js'
import { createYatagarasu, silentLogger } from '../../src/index.js'
import { sharpTransformer } from '../../src/images/sharp-transformer.js'
import { describeImageConformance } from './images.js'
import { describeConformance } from './suite.js'

describeConformance('Node adapter', async (config) => {
  const server = await serve(createYatagarasu(config, { logger: silentLogger }), { port: 0 })
  return { baseUrl: server.url, close: () => server.close() }
})

describeImageConformance('Node adapter, sharpTransformer()', async (config) => {
  const server = await serve(createYatagarasu(config, { logger: silentLogger, imageTransformer: sharpTransformer() }), { port: 0 })
  return { baseUrl: server.url, close: () => server.close() }
})
