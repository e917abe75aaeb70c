/**
 * Sets a header and returns the response to use from then on. Responses we build are
 * mutable, but one returned by `fetch` or `Response.redirect` (say, from a user
 * middleware) has immutable headers: that one is re-wrapped around the same body
 * stream, never copied.
 */
export function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value)
    return response
  } catch {
    const copy = new Response(response.body, response)
    copy.headers.set(name, value)
    return copy
  }
}

/** Like {@link withHeader}, for several changes at once (re-wrapping at most once). */
export function withHeaders(response: Response, change: (headers: Headers) => void): Response {
  try {
    change(response.headers)
    return response
  } catch {
    const copy = new Response(response.body, response)
    change(copy.headers)
    return copy
  }
}
