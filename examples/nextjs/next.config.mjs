import { fileURLToPath } from 'node:url'

// `yatagarasu` is linked from this repository (`file:../..`), two folders up: Turbopack
// and output file tracing must see it. In your own app, installed from npm, drop this.
const root = fileURLToPath(new URL('../..', import.meta.url))

export default { turbopack: { root }, outputFileTracingRoot: root }
