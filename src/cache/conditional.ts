/**
 * Answers `If-None-Match` and `If-Modified-Since` from a cached entry's validators
 * (RFC 9110 §13.1.2, §13.1.3, evaluated in the order of §13.2.2).
 */

/** True when the request's validators say the client's copy is current: answer 304. */
export function isNotModified(request: Headers, etag: string | undefined, lastModified: string | undefined): boolean {
  const ifNoneMatch = request.get('if-none-match')
  if (ifNoneMatch !== null) {
    // §13.2.2 step 3: when If-None-Match is present, If-Modified-Since is ignored.
    return noneMatchFails(ifNoneMatch, etag)
  }
  const ifModifiedSince = request.get('if-modified-since')
  if (ifModifiedSince === null || lastModified === undefined) return false
  const since = Date.parse(ifModifiedSince)
  const modified = Date.parse(lastModified)
  // §13.1.3: an invalid date, or a field with several dates, is ignored.
  if (Number.isNaN(since) || Number.isNaN(modified)) return false
  // HTTP dates have one-second resolution; Last-Modified at or before the date is "not modified".
  return modified <= since
}

/**
 * §13.1.2: the condition is false (→ 304 for GET/HEAD) when the field is `*` and a
 * representation exists, or when one listed tag matches the current ETag under weak
 * comparison (`W/"x"` matches `"x"`).
 */
function noneMatchFails(field: string, etag: string | undefined): boolean {
  if (field.trim() === '*') return true
  if (etag === undefined) return false
  const current = opaqueTag(etag)
  if (current === undefined) return false
  for (const tag of parseEntityTags(field)) if (tag === current) return true
  return false
}

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc may include ',' (RFC 9110 §8.8.3).
const ENTITY_TAG = /\s*(?:W\/)?"([^"]*)"\s*(?:,|$)/y

/** The opaque tags of an If-None-Match list; a malformed list yields what parsed before the error. */
function parseEntityTags(field: string): string[] {
  const tags: string[] = []
  ENTITY_TAG.lastIndex = 0
  while (ENTITY_TAG.lastIndex < field.length) {
    const match = ENTITY_TAG.exec(field)
    if (match === null) break
    tags.push(match[1]!)
  }
  return tags
}

function opaqueTag(etag: string): string | undefined {
  const match = /^\s*(?:W\/)?"([^"]*)"\s*$/.exec(etag)
  return match?.[1]
}
