import { fileURLToPath } from 'node:url'

// `yatagarasu` is linked from this repository (`file:../..`), two folders up: Turbopack
// and output file tracing must see it. In your own app, installed from npm, drop this.
const root = fileURLToPath(new URL('../..', import.meta.url))

export default {
  turbopack: { root },
  outputFileTracingRoot: root,
  // Keep this one: a key ending in `/` (a bucket's index document, an S3 "folder") must
  // reach the route as sent. Next otherwise answers 308 to the path without the slash,
  // which is another key.
  skipTrailingSlashRedirect: true,
}
