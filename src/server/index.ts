/**
 * `yatagarasu/server` (Node): the standalone server as a library — what the
 * `yatagarasu` command runs.
 */
export { loadConfigFile, warningsOf, type LoadedConfig } from './config-file.js'
export { startServer, type RunningServer, type StartServerOptions } from './server.js'
export { handleSignals, type SignalOptions } from './signals.js'
export { createReadiness, type BucketReadiness, type Readiness, type ReadinessOptions, type ReadinessReport } from './readiness.js'
export {
  checkServerBlocks,
  parseAddress,
  resolveServerSettings,
  serverBlocks,
  type ServerSettings,
  type SettingsOverrides,
} from './settings.js'
export { summarize } from './summary.js'
export { VERSION } from './version.js'
