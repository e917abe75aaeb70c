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

/** A resolved config with some of its buckets, or at another base path (already valid: not validated again). */
export function narrowConfig(config: ResolvedConfig, changes: Partial<Pick<ResolvedConfig, 'basePath' | 'buckets'>>): ResolvedConfig {
  const narrowed: ResolvedConfig = { ...config, ...changes }
  Object.defineProperty(narrowed, RESOLVED, { value: true, enumerable: false })
  return narrowed
}
