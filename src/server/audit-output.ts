/**
 * Where the standalone server writes its audit log (`audit_log`): stdout, stderr or an
 * append-only file. One output lives as long as the server; a reload switches it to the
 * new settings and reopens the file even when the path is unchanged, so `kill -HUP`
 * after a log rotation starts a new file. Entries of requests still running on the old
 * config go to the new destination.
 */
import { createWriteStream, mkdirSync, openSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { finished } from 'node:stream/promises'
import { jsonAuditLog, type AuditLog } from '../audit/audit-log.js'
import { ConfigError } from '../errors.js'
import type { Logger } from '../logging/logger.js'
import type { AuditLogSettings } from './settings.js'

export interface AuditOutput {
  /** The log to give `createYatagarasu` while the output is enabled. */
  readonly log: AuditLog
  /**
   * Switches to `settings`. Throws a `ConfigError` (on `audit_log.file_path`) when the file
   * can't be opened; the previous destination then stays.
   */
  apply(settings: AuditLogSettings): void
  /** Flushes and closes the file, if any. */
  close(): Promise<void>
}

interface Destination {
  write(line: string): void
  close(): Promise<void>
}

export function createAuditOutput(logger: Logger): AuditOutput {
  let current: Destination | undefined
  const log = jsonAuditLog((line) => current?.write(line))

  return {
    log,
    apply(settings) {
      const next = open(settings, logger)
      const previous = current
      current = next
      void previous?.close()
    },
    async close() {
      const closing = current
      current = undefined
      await closing?.close()
    },
  }
}

function open(settings: AuditLogSettings, logger: Logger): Destination | undefined {
  if (!settings.enabled) return undefined
  if (settings.output !== 'file') {
    const stream = settings.output === 'stdout' ? process.stdout : process.stderr
    return { write: (line) => void stream.write(`${line}\n`), close: async () => {} }
  }
  const path = resolve(settings.filePath)
  let fd: number
  try {
    mkdirSync(dirname(path), { recursive: true })
    // Opened here, synchronously, so that a path that can't be written fails the start or the reload.
    fd = openSync(path, 'a', 0o640)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? 'failed')
    throw new ConfigError([{ path: 'audit_log.file_path', message: `cannot open ${path}: ${reason}` }])
  }
  const stream = createWriteStream(path, { fd, flags: 'a' })
  let failed = false
  stream.on('error', (error: NodeJS.ErrnoException) => {
    // Logged once: a full disk would otherwise log once per request.
    if (failed) return
    failed = true
    logger.error('audit log write failed; entries are being lost', { path, code: error.code ?? error.name })
  })
  return {
    write: (line) => {
      if (!failed) stream.write(`${line}\n`)
    },
    close: () => {
      stream.end()
      return finished(stream).catch(() => {})
    },
  }
}
