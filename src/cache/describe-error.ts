/**
 * A loggable summary of a store failure: name, code and message, with any
 * `scheme://user:password@` credentials in the message masked (a Redis URL can carry a
 * password, and some client errors repeat the URL).
 */
export function describeError(error: unknown): { name: string; code?: string; message: string } {
  if (!(error instanceof Error)) return { name: 'Error', message: maskCredentials(String(error)) }
  const code = (error as { code?: unknown }).code
  return {
    name: error.name,
    ...(typeof code === 'string' && { code }),
    message: maskCredentials(error.message),
  }
}

function maskCredentials(text: string): string {
  return text.replace(/(\b[a-z][\w+.-]*:\/\/)[^/\s@]*@/gi, '$1***@').slice(0, 300)
}
