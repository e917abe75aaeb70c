/**
 * `yatagarasu/server` (Node): the standalone server as a library — what the
 * `yatagarasu` command runs. Its helpers (settings, readiness, summaries) stay internal.
 */
export { loadConfigFile, type LoadedConfig } from './config-file.js'
export { startServer, type RunningServer, type StartServerOptions } from './server.js'
export { handleSignals, type SignalOptions } from './signals.js'
export type { ServerSettings, SettingsOverrides } from './settings.js'
export { VERSION } from './version.js'
