import { AwsV4Signer } from 'aws4fetch'
import type { ResolvedS3Connection } from '../config/types.js'
import { BadGatewayError, ClientClosedRequestError, GatewayTimeoutError } from '../errors.js'
import { objectUrl, objectUrlBase } from './object-url.js'
import { hmacSha256, sha256 } from './sha256.js'

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
  // aws4fetch's signer only (its AwsClient, with retries, is never used: a proxy must
  // never re-send a request whose body may already be streaming to a client). The
  // day's signing key is derived once (`signingKeys`).
  const urlBase = objectUrlBase(config)
  const keys = signingKeys(config.secretKey, config.region)

  async function sign(request: ObjectRequest): Promise<{ url: string; headers: Headers }> {
    const signer = new S3Signer(keys, {
      method: request.method,
      url: objectUrl(urlBase, request.key),
      headers: request.headers,
      accessKeyId: config.accessKey,
      secretAccessKey: config.secretKey,
      ...(config.sessionToken !== undefined && { sessionToken: config.sessionToken }),
      service: 's3',
      region: config.region,
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

const encoder = new TextEncoder()

/**
 * The day's SigV4 signing key (AWS SigV4, "Calculate the signature"), derived once
 * per UTC day. Signing itself is synchronous (./sha256.ts): Web Crypto's asynchronous
 * calls cost a thread-pool round trip each on Node, which was most of the latency the
 * proxy added to a pass-through request.
 */
interface SigningKeys {
  forDate(yyyymmdd: string): Uint8Array
}

function signingKeys(secretKey: string, region: string): SigningKeys {
  let slot: { date: string; key: Uint8Array } | undefined
  return {
    forDate(date) {
      if (slot?.date !== date) {
        let key: Uint8Array = encoder.encode(`AWS4${secretKey}`)
        for (const part of [date, region, 's3', 'aws4_request']) key = hmacSha256(key, encoder.encode(part))
        slot = { date, key }
      }
      return slot.key
    },
  }
}

/** aws4fetch's signer (canonical request, headers, encoding), with its two digests computed synchronously from the day key. */
class S3Signer extends AwsV4Signer {
  readonly #keys: SigningKeys

  constructor(keys: SigningKeys, init: ConstructorParameters<typeof AwsV4Signer>[0]) {
    super(init)
    this.#keys = keys
  }

  override async stringToSign(): Promise<string> {
    const canonicalRequestHash = toHex(sha256(encoder.encode(await this.canonicalString())))
    return ['AWS4-HMAC-SHA256', this.datetime, this.credentialString, canonicalRequestHash].join('\n')
  }

  override async signature(): Promise<string> {
    const key = this.#keys.forDate(this.datetime.slice(0, 8))
    return toHex(hmacSha256(key, encoder.encode(await this.stringToSign())))
  }
}

function toHex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += (byte < 16 ? '0' : '') + byte.toString(16)
  return out
}
