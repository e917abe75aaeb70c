/**
 * A loggable summary of a failure: name, code and message, with any
 * `scheme://user:password@` credentials in the message masked (a Redis URL can carry a
 * password, and some client errors repeat the URL). The code is the error's own, else
 * its cause's (`fetch` rejects with a `TypeError` whose cause holds `ECONNREFUSED`).
 */
export function describeError(error: unknown): { name: string; code?: string; message: string } {
  if (!(error instanceof Error)) return { name: 'Error', message: maskCredentials(String(error)) }
  const code = codeOf(error) ?? codeOf(error.cause)
  return {
    name: error.name,
    ...(code !== undefined && { code }),
    message: maskCredentials(error.message),
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

function maskCredentials(text: string): string {
  return text.replace(/(\b[a-z][\w+.-]*:\/\/)[^/\s@]*@/gi, '$1***@').slice(0, 300)
}
