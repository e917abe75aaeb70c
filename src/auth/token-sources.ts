/** A token source after validation: names lower-cased, prefixes normalised once. */
export type ResolvedTokenSource =
  | { readonly type: 'bearer' }
  | { readonly type: 'header'; readonly name: string; readonly prefix?: Prefix }
  | { readonly type: 'query'; readonly name: string }

export interface Prefix {
  /** Trimmed and lower-cased; matched case-insensitively. */
  readonly text: string
  /** The configured prefix ended with a space: the token must be separated from it (`Bearer x`, not `Bearerx`). */
  readonly separated: boolean
}

export function toPrefix(prefix: string): Prefix | undefined {
  const text = prefix.trim().toLowerCase()
  return text === '' ? undefined : { text, separated: /\s$/.test(prefix) }
}

// RFC 6750 §2.1: the Authorization scheme is case-insensitive (RFC 9110 §11.1).
const BEARER: Prefix = { text: 'bearer', separated: true }

/** The request carried a token in a source, but not a usable one (`Authorization: Bearer` with nothing after it). */
export const MALFORMED = Symbol('malformed token')

/**
 * The token from the first source that has one, `MALFORMED` when that source's value is
 * unusable, or `undefined` when no source has a token. Only an absent source falls
 * through to the next: a source that is present decides, so a bad header token is never
 * silently replaced by a query token (or the other way round).
 *
 * "Absent" means the header or parameter is missing or blank, or (for `bearer` and
 * prefixed headers) the value does not start with the scheme or prefix — e.g.
 * `Authorization: Basic ...` is not a bearer token.
 */
export function findToken(
  request: Request,
  url: URL,
  sources: readonly ResolvedTokenSource[],
): string | typeof MALFORMED | undefined {
  for (const source of sources) {
    let found: string | typeof MALFORMED | undefined
    switch (source.type) {
      case 'bearer':
        found = afterPrefix(request.headers.get('authorization'), BEARER)
        break
      case 'header':
        found = afterPrefix(request.headers.get(source.name), source.prefix)
        break
      case 'query':
        found = nonBlank(url.searchParams.get(source.name))
        break
    }
    if (found !== undefined) return found
  }
  return undefined
}

function afterPrefix(value: string | null, prefix: Prefix | undefined): string | typeof MALFORMED | undefined {
  const trimmed = nonBlank(value)
  if (trimmed === undefined || prefix === undefined) return trimmed
  const { text, separated } = prefix
  if (trimmed.length < text.length || trimmed.slice(0, text.length).toLowerCase() !== text) return undefined
  const rest = trimmed.slice(text.length)
  if (rest === '') return MALFORMED
  // `Bearerfoo` is another scheme, not a bearer token.
  if (separated && !/^\s/.test(rest)) return undefined
  return rest.trim()
}

function nonBlank(value: string | null): string | undefined {
  if (value === null) return undefined
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}
