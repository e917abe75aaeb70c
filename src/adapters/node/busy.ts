/** The refusal of a request beyond `serve()`'s `maxConcurrentRequests`: the adapter's own, and the one a `busy` handler throws. */
import { ServiceUnavailableError } from '../../errors.js'

export const BUSY_MESSAGE = 'The server is busy; retry later'

/** What a `busy` handler throws to answer like the adapter does (503, `Retry-After: 1`). */
export function busyError(): ServiceUnavailableError {
  return new ServiceUnavailableError(BUSY_MESSAGE, { headers: { 'Retry-After': '1' } })
}
