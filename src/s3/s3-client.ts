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
  // One AwsClient per bucket holds the credentials; the day's signing key is derived and
  // imported once (`signingKeys`). Its retries are off: a proxy must never re-send a
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
  const keys = signingKeys(config.secretKey, config.region)

  async function sign(request: ObjectRequest): Promise<{ url: string; headers: Headers }> {
    // The signer is used directly (sharing the client's credentials) rather than
    // `aws.sign()`, which would build a throwaway Request per call.
    const signer = new S3Signer(keys, {
      method: request.method,
      url: objectUrl(urlBase, request.key),
      headers: request.headers,
      accessKeyId: aws.accessKeyId,
      secretAccessKey: aws.secretAccessKey,
      ...(aws.sessionToken !== undefined && { sessionToken: aws.sessionToken }),
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
 * The day's SigV4 signing key (AWS SigV4, "Calculate the signature"), derived and
 * imported into Web Crypto once per UTC day. aws4fetch caches the derived bytes but
 * imports them again for every signature, an extra asynchronous Web Crypto call per
 * request (on Node, a round trip through the thread pool).
 */
interface SigningKeys {
  forDate(yyyymmdd: string): Promise<CryptoKey>
}

function signingKeys(secretKey: string, region: string): SigningKeys {
  let slot: { date: string; key: Promise<CryptoKey> } | undefined
  return {
    forDate(date) {
      if (slot?.date !== date) {
        const key = deriveSigningKey(secretKey, date, region)
        slot = { date, key }
        // A failed derivation is not kept: the next request tries again.
        key.catch(() => {
          if (slot?.key === key) slot = undefined
        })
      }
      return slot.key
    },
  }
}

async function deriveSigningKey(secretKey: string, date: string, region: string): Promise<CryptoKey> {
  let key: ArrayBuffer | Uint8Array = encoder.encode(`AWS4${secretKey}`)
  for (const part of [date, region, 's3', 'aws4_request']) key = await hmac(key, part)
  return importHmacKey(key)
}

function importHmacKey(raw: ArrayBuffer | Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

async function hmac(key: ArrayBuffer | Uint8Array, data: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign('HMAC', await importHmacKey(key), encoder.encode(data))
}

/** aws4fetch's signer with the signature computed from the cached, already imported day key. */
class S3Signer extends AwsV4Signer {
  readonly #keys: SigningKeys

  constructor(keys: SigningKeys, init: ConstructorParameters<typeof AwsV4Signer>[0]) {
    super(init)
    this.#keys = keys
  }

  override async signature(): Promise<string> {
    const key = await this.#keys.forDate(this.datetime.slice(0, 8))
    const signature = await crypto.subtle.sign('HMAC', key, encoder.encode(await this.stringToSign()))
    return toHex(new Uint8Array(signature))
  }
}

function toHex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += (byte < 16 ? '0' : '') + byte.toString(16)
  return out
}
