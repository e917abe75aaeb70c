/**
 * Vitest global setup of the integration and conformance projects: builds dist/ once,
 * before any test file runs (the CLI, the demo, the runtimes' bundles and the package
 * checks use the built package), and only when a source changed since the last build.
 */
import { buildIfNeeded } from '../../scripts/build-if-needed.mjs'
import { ROOT } from './cli.js'

export default function setup(): void {
  buildIfNeeded(ROOT)
}
