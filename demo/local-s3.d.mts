// Types for demo/local-s3.mjs (the tests' S3 harness imports it).
export function suffixLength(range: string | undefined): number | undefined
export function absoluteSuffixRange(n: number, size: number): string
export interface LocalS3 {
  /** `http://host:port` of the front. */
  endpoint: string
  port: number
  close(): Promise<void>
}
export function startLocalS3(options: {
  buckets: string[]
  host?: string
  port?: number
  /** Where s3rver keeps objects; kept on close. Default: a temp directory, removed on close. */
  directory?: string
}): Promise<LocalS3>
