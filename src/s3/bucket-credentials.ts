import type { ResolvedS3 } from '../config/types.js'
import type { Logger } from '../logging/logger.js'
import { credentialsProvider, type CredentialsRuntime } from './credential-providers.js'
import { refreshingCredentials, type CredentialsSource } from './credentials.js'

const shared = new WeakMap<ResolvedS3, WeakMap<CredentialsRuntime, CredentialsSource>>()
const NO_RUNTIME: CredentialsRuntime = {}

/**
 * One set of refreshing credentials for a bucket (`s3.credentials`), whichever of its
 * targets signs with it; undefined when every target has keys of its own. One per
 * resolved bucket and runtime: object requests, a redirect's size check and its
 * presigned URLs share one fetch and one refresh.
 */
export function bucketCredentials(
  s3: ResolvedS3,
  options: { bucket: string; logger?: Logger | undefined; credentialsRuntime?: CredentialsRuntime | undefined },
): CredentialsSource | undefined {
  const config = s3.targets.find((target) => target.credentials !== undefined)?.credentials
  if (config === undefined) return undefined
  const runtime = options.credentialsRuntime ?? NO_RUNTIME
  let byRuntime = shared.get(s3)
  if (byRuntime === undefined) shared.set(s3, (byRuntime = new WeakMap()))
  let source = byRuntime.get(runtime)
  if (source === undefined) {
    source = refreshingCredentials(credentialsProvider(config, options.credentialsRuntime), {
      bucket: options.bucket,
      ...(options.logger && { logger: options.logger }),
    })
    byRuntime.set(runtime, source)
  }
  return source
}
