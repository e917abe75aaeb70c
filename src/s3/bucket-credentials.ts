import type { ResolvedS3 } from '../config/types.js'
import type { Logger } from '../logging/logger.js'
import { credentialsProvider, type CredentialsRuntime } from './credential-providers.js'
import { refreshingCredentials, type CredentialsSource } from './credentials.js'

/**
 * One set of refreshing credentials for a bucket (`s3.credentials`), whichever of its
 * targets signs with it; undefined when every target has keys of its own.
 */
export function bucketCredentials(
  s3: ResolvedS3,
  options: { bucket: string; logger?: Logger | undefined; credentialsRuntime?: CredentialsRuntime | undefined },
): CredentialsSource | undefined {
  const config = s3.targets.find((target) => target.credentials !== undefined)?.credentials
  if (config === undefined) return undefined
  return refreshingCredentials(credentialsProvider(config, options.credentialsRuntime), {
    bucket: options.bucket,
    ...(options.logger && { logger: options.logger }),
  })
}
