import { AwsClient, AwsV4Signer } from 'aws4fetch'
import type { ResolvedS3Connection } from '../config/types.js'
import { BadGatewayError, ClientClosedRequestError, GatewayTimeoutError } from '../errors.js'
import { objectUrl, objectUrlBase } from './object-url.js'

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

export function createS3Client(config: ResolvedS3Connection): S3Client {
  // One AwsClient per bucket holds the credentials and caches the derived signing key
  // per day (aws4fetch's `cache`). Its retries are off: a proxy must never re-send a
  // request whose body may already be streaming to a client.
  const aws = new AwsClient({
    accessKeyId: config.accessKey,
    secretAccessKey: config.secretKey,
    ...(config.sessionToken !== undefined && { sessionToken: config.sessionToken }),
    service: 's3',
    region: config.region,
    retries: 0,
  })
  const urlBase = objectUrlBase(config)

  async function sign(request: ObjectRequest): Promise<{ url: string; headers: Headers }> {
    // The signer is used directly (sharing the client's credentials and key cache)
    // rather than `aws.sign()`, which would build a throwaway Request per call.
    const signer = new AwsV4Signer({
      method: request.method,
      url: objectUrl(urlBase, request.key),
      headers: request.headers,
      accessKeyId: aws.accessKeyId,
      secretAccessKey: aws.secretAccessKey,
      ...(aws.sessionToken !== undefined && { sessionToken: aws.sessionToken }),
      service: 's3',
      region: config.region,
      cache: aws.cache,
    })
    const signed = await signer.sign()
    return { url: signed.url.toString(), headers: signed.headers }
  }

  return {
    config,
    async send(request, fetchImpl) {
      if (request.signal.aborted) throw new ClientClosedRequestError('The client closed the request')
      const { url, headers } = await sign(request)
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
        return await fetchImpl(url, init as RequestInit)
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
