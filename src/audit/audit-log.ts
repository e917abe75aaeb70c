/**
 * The audit log: one entry per authorization decision — who (the verified token's
 * subject), what (bucket and key), the decision and why. Entries hold no token, claim
 * value or secret; the JSON line adds the time and redacts anything in the key that
 * looks like a token, as the other logs do.
 */
import type { TokenFailure } from '../auth/jwt-verifier.js'
import { redactText } from '../logging/redact.js'

/**
 * Why a request was allowed or refused:
 *
 * - `token-valid`: a verified token, and its claims passed every `claimsVerification` rule;
 * - `no-token`: a protected bucket and no token in any configured source;
 * - a token failure (`malformed`, `expired`, `not-yet-valid`, `signature`, `algorithm`,
 *   `issuer`, `audience`, `unknown-key`, `keys-unavailable`, `invalid`);
 * - `claims`: a verified token whose claims failed a rule (403);
 * - `ip-filter`: the bucket's IP filter refused the client address (403);
 * - `error`: verification could not run (a key that fails to import); the request gets 500.
 */
export type AuditReason = 'token-valid' | 'no-token' | TokenFailure | 'claims' | 'ip-filter' | 'error'

/** One authorization decision. */
export interface AuditEntry {
  readonly requestId: string
  readonly method: string
  readonly bucket: string
  /** The S3 key asked for. */
  readonly key: string
  /** The verified token's `sub`, or `anonymous` (no token, a token that failed verification, or no `sub`). */
  readonly subject: string
  readonly decision: 'allow' | 'deny'
  readonly reason: AuditReason
  /** The client's address, when the runtime passed it. */
  readonly clientIp?: string
}

/** Receives each {@link AuditEntry}; called synchronously on the request's path, so it must not block. */
export type AuditLog = (entry: AuditEntry) => void

export const ANONYMOUS = 'anonymous'

export interface JsonAuditLogOptions {
  /** The clock for the `time` field. Default `() => new Date()`. */
  now?: () => Date
}

const MAX_TEXT = 1024

/**
 * An {@link AuditLog} writing one JSON object per entry through `write` (without the line
 * feed): `{"time","type":"audit","requestId","method","bucket","key","subject","decision","reason","clientIp"}`.
 *
 * @example
 * const audit = jsonAuditLog((line) => auditFile.write(line + '\n'))
 * const handler = createYatagarasu(config, { audit })
 */
export function jsonAuditLog(write: (line: string) => void, options: JsonAuditLogOptions = {}): AuditLog {
  const now = options.now ?? (() => new Date())
  return (entry) => write(auditLine(entry, now()))
}

/** The JSON line of an entry at `time`. */
export function auditLine(entry: AuditEntry, time: Date): string {
  return JSON.stringify({
    time: time.toISOString(),
    type: 'audit',
    requestId: entry.requestId,
    method: entry.method,
    bucket: entry.bucket,
    key: clip(redactText(entry.key)),
    subject: clip(redactText(entry.subject)),
    decision: entry.decision,
    reason: entry.reason,
    ...(entry.clientIp !== undefined && { clientIp: entry.clientIp }),
  })
}

/** The subject of verified claims: their `sub` when it is a string. */
export function subjectOf(claims: Record<string, unknown> | undefined): string {
  const sub = claims?.sub
  return typeof sub === 'string' && sub !== '' ? sub : ANONYMOUS
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text
}
