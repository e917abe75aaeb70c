import type { ResolvedS3Connection } from '../config/types.js'
import { BadGatewayError, ClientClosedRequestError, GatewayTimeoutError } from '../errors.js'
import { objectUrl, objectUrlBase } from './object-url.js'
import type { CredentialsSource } from './credentials.js'
import { createS3Signer, type S3Signer, type SigningCredentials } from './sigv4.js'

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>

export interface ObjectRequest {
  method: 'GET' | 'HEAD'
  key: string
  /** Only headers meant for S3 (range and conditionals). Signing adds its own. */
  headers: Headers
  /** Aborting it cancels the S3 request, also after the headers arrived (the body stops). */
  signal: AbortSignal
}

/** One bucket's S3 access: its signing credentials and URL scheme, created once at startup. */
export interface S3Client {
  readonly config: ResolvedS3Connection
  /**
   * Signs and sends a request. Resolves with S3's response as soon as its headers
   * arrive (the body is still streaming). Throws `GatewayTimeoutError` when S3 is
   * too slow, `BadGatewayError` when it can't be reached, `ClientClosedRequestError`
   * when `signal` aborted first.
   */
  send(request: ObjectRequest, fetchImpl: FetchFunction): Promise<Response>
}

export interface S3ClientOptions {
  /** Credentials that refresh (`s3.credentials`); without it, the config's keys sign. */
  credentials?: CredentialsSource
}

/**
 * A target's signer: for its own keys (made once), or for the current set of refreshing
 * credentials — made again when they change, since a signer derives its key once a day.
 * Rejects with `BadGatewayError` when no credentials can be had (the failure itself was
 * logged where it happened, never with the keys).
 */
export function targetSigner(config: ResolvedS3Connection, credentials?: CredentialsSource): () => Promise<S3Signer> {
  return forCurrentCredentials(config, credentials, (keys) => createS3Signer(keys))
}

/**
 * What `make` builds from a target's signing keys: its own (built once), or the current
 * refreshing credentials (built again when they change). Shared by the signer and the
 * redirect's presigner.
 */
export function forCurrentCredentials<T>(
  config: ResolvedS3Connection,
  credentials: CredentialsSource | undefined,
  make: (keys: SigningCredentials) => T,
): () => Promise<T> {
  if (credentials === undefined) {
    const fixed = make(config)
    return async () => fixed
  }
  let latest: { credentials: unknown; made: T } | undefined
  return async () => {
    let current
    try {
      current = await credentials.get()
    } catch (error) {
      // The client learns only that S3 is out of reach.
      throw new BadGatewayError('The storage backend credentials are not available', { cause: error })
    }
    if (latest?.credentials !== current) {
      const { accessKeyId: accessKey, secretAccessKey: secretKey, sessionToken } = current
      latest = { credentials: current, made: make({ region: config.region, accessKey, secretKey, sessionToken }) }
    }
    return latest.made
  }
}

export function createS3Client(config: ResolvedS3Connection, options: S3ClientOptions = {}): S3Client {
  // Signed here, sent once: a proxy must never re-send a request whose body may already
  // be streaming to a client (retries across replicas are the target pool's decision).
  const urlBase = objectUrlBase(config)
  const signer = targetSigner(config, options.credentials)

  return {
    config,
    async send(request, fetchImpl) {
      if (request.signal.aborted) throw new ClientClosedRequestError('The client closed the request')
      const url = new URL(objectUrl(urlBase, request.key))
      const sign = await signer()
      if (request.signal.aborted) throw new ClientClosedRequestError('The client closed the request')
      const headers = sign(request.method, url, request.headers)
      const controller = new AbortController()
      const onClientAbort = () => controller.abort()
      request.signal.addEventListener('abort', onClientAbort, { once: true })
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        controller.abort()
      }, config.timeoutMs)
      try {
        // Objects must pass through byte for byte, also when stored with a Content-Encoding.
        // Deno decodes unless the request names an Accept-Encoding; Bun unless told
        // `decompress: false` (an extra init field other runtimes ignore). Node's global
        // fetch always decodes: the Node adapter supplies `nodeFetch` instead.
        headers.set('accept-encoding', 'identity')
        const init = { method: request.method, headers, signal: controller.signal, redirect: 'manual', decompress: false }
        return await fetchImpl(url.href, init as RequestInit)
      } catch (error) {
        request.signal.removeEventListener('abort', onClientAbort)
        if (timedOut) throw new GatewayTimeoutError('The storage backend did not respond in time', { cause: error })
        if (request.signal.aborted) throw new ClientClosedRequestError('The client closed the request', { cause: error })
        throw new BadGatewayError('The storage backend could not be reached', { cause: error })
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
