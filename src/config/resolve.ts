import type { ResolvedConfig, YatagarasuConfig } from './types.js'
import { validateConfig } from './validate.js'

const RESOLVED = Symbol.for('yatagarasu.resolved-config')

/**
 * Validates a config once and marks it, so that the middleware factories of one
 * pipeline can all take the user's config without validating it again.
 */
export function resolveConfig(config: YatagarasuConfig | ResolvedConfig): ResolvedConfig {
  if (isResolved(config)) return config
  const resolved = validateConfig(config)
  Object.defineProperty(resolved, RESOLVED, { value: true, enumerable: false })
  return resolved
}

function isResolved(config: unknown): config is ResolvedConfig {
  return typeof config === 'object' && config !== null && (config as Record<symbol, unknown>)[RESOLVED] === true
}
