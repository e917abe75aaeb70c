/**
 * The built-in credentials providers (`s3.credentials: { provider: ... }`), speaking each
 * AWS protocol as the AWS SDKs do:
 *
 * - `env`: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (read on every
 *   refresh; they never expire, so that is once).
 * - `container` (ECS task roles, EKS Pod Identity): a GET to
 *   `http://169.254.170.2` + `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, else to
 *   `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https, or http to a loopback, ECS or EKS address
 *   only), with `Authorization:` the contents of `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`,
 *   else `AWS_CONTAINER_AUTHORIZATION_TOKEN`; JSON `{ AccessKeyId, SecretAccessKey, Token,
 *   Expiration }`.
 * - `web_identity` (EKS IRSA): STS `AssumeRoleWithWebIdentity` (form POST, unsigned) with
 *   the token in `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` (or `roleArn`) and a session
 *   name; XML answer. STS at `AWS_ENDPOINT_URL_STS`, else `https://sts.<AWS_REGION>.amazonaws.com`.
 * - `imds` (EC2 instance roles, IMDSv2): `PUT /latest/api/token` for a session token, then
 *   `GET /latest/meta-data/iam/security-credentials/` for the role name and
 *   `GET .../<role>` for JSON credentials, at `AWS_EC2_METADATA_SERVICE_ENDPOINT` or
 *   `http://169.254.169.254`.
 *
 * Runtime-neutral: environment and file reading come from a {@link CredentialsRuntime}
 * (the standalone server passes the process's), remote answers are read bounded, and
 * nothing here logs: errors name the provider and the HTTP status, never a key or token.
 */
import type { BuiltInCredentialsConfig, S3CredentialsConfig } from '../config/types.js'
import { readTextBounded } from '../net/read-bounded.js'
import type { AwsCredentials, CredentialsProvider } from './credentials.js'

/** What the built-in providers need from the runtime. */
export interface CredentialsRuntime {
  /** The environment (`process.env`, `Deno.env.toObject()`, `Bun.env`). Default: none. */
  env?: Readonly<Record<string, string | undefined>>
  /** Reads a token file as text (container and web identity providers). Default: none. */
  readFile?: (path: string) => Promise<string>
  /** Default: `globalThis.fetch`. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>
  /** Milliseconds each remote request may take. Default 5000. */
  timeoutMs?: number
}

const MAX_ANSWER_BYTES = 64 * 1024
const DEFAULT_TIMEOUT_MS = 5000
const ECS_HOST = 'http://169.254.170.2'
const IMDS_ENDPOINT = 'http://169.254.169.254'
const IMDS_TOKEN_TTL_SECONDS = '21600'
// http is allowed for a full URI only to these hosts (and loopback): the ECS agent, EKS Pod Identity.
const CONTAINER_HOSTS = new Set(['169.254.170.2', '169.254.170.23', '[fd00:ec2::23]', 'localhost', '[::1]'])

/** The provider function for `s3.credentials`: the user's own, or a built-in one. */
export function credentialsProvider(config: S3CredentialsConfig, runtime: CredentialsRuntime = {}): CredentialsProvider {
  if (typeof config === 'function') return config
  return builtInProvider(config, runtime)
}

export function builtInProvider(config: BuiltInCredentialsConfig, runtime: CredentialsRuntime = {}): CredentialsProvider {
  switch (config.provider) {
    case 'env':
      return () => envCredentials(runtime)
    case 'container':
      return () => containerCredentials(runtime)
    case 'web_identity':
      return () => webIdentityCredentials(runtime, config)
    case 'imds':
      return () => imdsCredentials(runtime)
  }
}

class CredentialsProviderError extends Error {
  override name = 'CredentialsProviderError'
}

function envOf(runtime: CredentialsRuntime, name: string): string | undefined {
  const value = runtime.env?.[name]
  return value === undefined || value === '' ? undefined : value
}

async function envCredentials(runtime: CredentialsRuntime): Promise<AwsCredentials> {
  const accessKeyId = envOf(runtime, 'AWS_ACCESS_KEY_ID')
  const secretAccessKey = envOf(runtime, 'AWS_SECRET_ACCESS_KEY')
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new CredentialsProviderError('env credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set')
  }
  const sessionToken = envOf(runtime, 'AWS_SESSION_TOKEN')
  return { accessKeyId, secretAccessKey, ...(sessionToken !== undefined && { sessionToken }) }
}

async function containerCredentials(runtime: CredentialsRuntime): Promise<AwsCredentials> {
  const relative = envOf(runtime, 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI')
  const full = envOf(runtime, 'AWS_CONTAINER_CREDENTIALS_FULL_URI')
  let url: URL
  if (relative !== undefined) url = new URL(relative, ECS_HOST)
  else if (full !== undefined && URL.canParse(full)) url = new URL(full)
  else throw new CredentialsProviderError('container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI must be set')
  if (relative === undefined && !isAllowedContainerUrl(url)) {
    throw new CredentialsProviderError('container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback, ECS or EKS Pod Identity address')
  }
  const headers = new Headers()
  const tokenFile = envOf(runtime, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE')
  const token = tokenFile !== undefined ? (await readTokenFile(runtime, tokenFile, 'container')).trim() : envOf(runtime, 'AWS_CONTAINER_AUTHORIZATION_TOKEN')
  if (token !== undefined) headers.set('authorization', token)
  const response = await call(runtime, url.href, { method: 'GET', headers }, 'container')
  return fromJson(await readTextBounded(response, MAX_ANSWER_BYTES), 'container')
}

function isAllowedContainerUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true
  if (url.protocol !== 'http:') return false
  return CONTAINER_HOSTS.has(url.hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname)
}

async function webIdentityCredentials(runtime: CredentialsRuntime, config: BuiltInCredentialsConfig): Promise<AwsCredentials> {
  const tokenFile = envOf(runtime, 'AWS_WEB_IDENTITY_TOKEN_FILE')
  const roleArn = config.roleArn ?? envOf(runtime, 'AWS_ROLE_ARN')
  if (tokenFile === undefined || roleArn === undefined) {
    throw new CredentialsProviderError('web_identity credentials: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (or role_arn) must be set')
  }
  const sessionName = config.sessionName ?? envOf(runtime, 'AWS_ROLE_SESSION_NAME') ?? 'yatagarasu'
  const token = (await readTokenFile(runtime, tokenFile, 'web_identity')).trim()
  const region = envOf(runtime, 'AWS_REGION') ?? envOf(runtime, 'AWS_DEFAULT_REGION')
  const endpoint = envOf(runtime, 'AWS_ENDPOINT_URL_STS') ?? envOf(runtime, 'AWS_ENDPOINT_URL') ?? (region !== undefined ? `https://sts.${region}.amazonaws.com` : 'https://sts.amazonaws.com')
  const body = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: roleArn, RoleSessionName: sessionName, WebIdentityToken: token })
  const response = await call(
    runtime,
    new URL('/', endpoint).href,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept: 'application/xml' }, body: body.toString() },
    'web_identity',
  )
  const xml = await readTextBounded(response, MAX_ANSWER_BYTES)
  const credentials = xmlElement(xml, 'Credentials')
  if (credentials === undefined) throw new CredentialsProviderError('web_identity credentials: STS answered without Credentials')
  return checkedAnswer(
    {
      accessKeyId: xmlElement(credentials, 'AccessKeyId'),
      secretAccessKey: xmlElement(credentials, 'SecretAccessKey'),
      sessionToken: xmlElement(credentials, 'SessionToken'),
      expiration: xmlElement(credentials, 'Expiration'),
    },
    'web_identity',
  )
}

async function imdsCredentials(runtime: CredentialsRuntime): Promise<AwsCredentials> {
  const base = envOf(runtime, 'AWS_EC2_METADATA_SERVICE_ENDPOINT') ?? IMDS_ENDPOINT
  const url = (path: string) => new URL(path, base).href
  const tokenResponse = await call(runtime, url('/latest/api/token'), { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': IMDS_TOKEN_TTL_SECONDS } }, 'imds')
  const token = (await readTextBounded(tokenResponse, MAX_ANSWER_BYTES)).trim()
  const headers = { 'x-aws-ec2-metadata-token': token }
  const rolesResponse = await call(runtime, url('/latest/meta-data/iam/security-credentials/'), { method: 'GET', headers }, 'imds')
  const role = (await readTextBounded(rolesResponse, MAX_ANSWER_BYTES)).split('\n')[0]?.trim()
  if (!role) throw new CredentialsProviderError('imds credentials: the instance has no IAM role')
  const response = await call(runtime, url(`/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`), { method: 'GET', headers }, 'imds')
  return fromJson(await readTextBounded(response, MAX_ANSWER_BYTES), 'imds')
}

async function readTokenFile(runtime: CredentialsRuntime, path: string, provider: string): Promise<string> {
  if (runtime.readFile === undefined) throw new CredentialsProviderError(`${provider} credentials: reading a token file needs a runtime readFile`)
  try {
    return await runtime.readFile(path)
  } catch (error) {
    throw new CredentialsProviderError(`${provider} credentials: the token file could not be read`, { cause: error })
  }
}

/** One bounded request; a non-2xx answer is an error naming only the status. */
async function call(runtime: CredentialsRuntime, url: string, init: RequestInit, provider: string): Promise<Response> {
  const fetchImpl = runtime.fetch ?? ((input: string, options: RequestInit) => fetch(input, options))
  let response: Response
  try {
    response = await fetchImpl(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(runtime.timeoutMs ?? DEFAULT_TIMEOUT_MS) })
  } catch (error) {
    throw new CredentialsProviderError(`${provider} credentials: the endpoint could not be reached`, { cause: error })
  }
  if (response.status < 200 || response.status > 299) {
    await response.body?.cancel().catch(() => {})
    throw new CredentialsProviderError(`${provider} credentials: the endpoint answered ${response.status}`)
  }
  return response
}

/** The JSON of the container endpoint and of IMDS. */
function fromJson(text: string, provider: string): AwsCredentials {
  let data: Record<string, unknown>
  try {
    data = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new CredentialsProviderError(`${provider} credentials: the answer is not JSON`)
  }
  if (typeof data !== 'object' || data === null) throw new CredentialsProviderError(`${provider} credentials: the answer is not a JSON object`)
  // IMDS says Code: "Success"; anything else is a failure whatever the other fields.
  if (data.Code !== undefined && data.Code !== 'Success') throw new CredentialsProviderError(`${provider} credentials: the answer's Code is not Success`)
  return checkedAnswer(
    { accessKeyId: data.AccessKeyId, secretAccessKey: data.SecretAccessKey, sessionToken: data.Token, expiration: data.Expiration },
    provider,
  )
}

function checkedAnswer(fields: { accessKeyId: unknown; secretAccessKey: unknown; sessionToken: unknown; expiration: unknown }, provider: string): AwsCredentials {
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = fields
  if (typeof accessKeyId !== 'string' || !accessKeyId || typeof secretAccessKey !== 'string' || !secretAccessKey) {
    throw new CredentialsProviderError(`${provider} credentials: the answer has no AccessKeyId or SecretAccessKey`)
  }
  let expires: Date | undefined
  if (expiration !== undefined) {
    expires = typeof expiration === 'string' ? new Date(expiration) : undefined
    if (expires === undefined || Number.isNaN(expires.getTime())) throw new CredentialsProviderError(`${provider} credentials: the answer's Expiration is not a date`)
  }
  return {
    accessKeyId,
    secretAccessKey,
    ...(typeof sessionToken === 'string' && sessionToken !== '' && { sessionToken }),
    ...(expires !== undefined && { expiration: expires }),
  }
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/** The text of the first `<name>` element (entities decoded), or `undefined`. STS answers are small and flat. */
function xmlElement(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(xml)
  if (match === null) return undefined
  return match[1]!.trim().replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (entity, code: string) => {
    if (code[0] === '#') return String.fromCodePoint(code[1] === 'x' || code[1] === 'X' ? Number.parseInt(code.slice(2), 16) : Number(code.slice(1)))
    return XML_ENTITIES[code.toLowerCase()] ?? entity
  })
}
