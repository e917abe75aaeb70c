/**
 * The demo's local S3 as the examples' READMEs use it: `npm start -- --s3-only` (that is,
 * `node demo/start.mjs --s3-only`) on a free port, with the sample objects, and the
 * variables it prints for the examples (`export S3_ENDPOINT=... S3_BUCKET=... ...`).
 */
import { join } from 'node:path'
import { startChildServer, type ChildServer } from './child-server.js'
import { ROOT } from './cli.js'

export interface DemoS3 {
  /** The variables of the printed `export` line. */
  env: Record<string, string>
  close(): Promise<void>
}

export async function startDemoS3(): Promise<DemoS3> {
  const server: ChildServer = await startChildServer({
    command: process.execPath,
    args: [join(ROOT, 'demo/start.mjs'), '--s3-only'],
    env: { PORT: '0' },
    // The "URL" is the export line's assignments: the demo prints it once the objects are in.
    readyPattern: /^ *export (S3_ENDPOINT=.*)$/m,
  })
  return { env: parseAssignments(server.url), close: () => server.close() }
}

/** `A=1 B=2` → { A: '1', B: '2' } (the demo prints no quotes or spaces in values). */
export function parseAssignments(line: string): Record<string, string> {
  return Object.fromEntries(
    line
      .trim()
      .split(/\s+/)
      .map((pair) => {
        const equals = pair.indexOf('=')
        return [pair.slice(0, equals), pair.slice(equals + 1)]
      }),
  )
}
