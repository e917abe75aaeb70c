/**
 * A scriptable S3 stand-in for fault injection: a `node:http` server on 127.0.0.1
 * whose answers are queued per test — delay the headers, stall or reset the
 * connection after N body bytes, answer 500/503, hang for ever. It checks no
 * signatures (test/support/test-s3.ts does that); it records every request and
 * whether its connection was closed before the answer completed.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Fault =
  /**
   * 200 with `body`, after `headersDelayMs` (or once `heldUntil` settles: the test decides
   * when, no clock involved), in `chunkSize` pieces every `intervalMs`.
   */
  | {
      kind: 'ok'
      body?: string | Uint8Array
      headersDelayMs?: number
      heldUntil?: Promise<unknown>
      chunkSize?: number
      intervalMs?: number
      headers?: Record<string, string>
    }
  /** An error status (500, 503, 404, ...), with an S3-like XML body; delayed like `ok`. */
  | { kind: 'status'; status: number; headersDelayMs?: number; heldUntil?: Promise<unknown> }
  /** 200 with a `Content-Length` of `body`, but only `afterBytes` are sent; then nothing. */
  | { kind: 'stall'; body: string | Uint8Array; afterBytes: number }
  /** 200, `afterBytes` of the body, then the socket is destroyed (TCP reset). */
  | { kind: 'reset'; body: string | Uint8Array; afterBytes: number }
  /** The socket is destroyed before any response. */
  | { kind: 'drop' }
  /** Headers never come. */
  | { kind: 'hang' }

export interface OriginRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  /** Resolves when the exchange is over: `completed` false when the proxy hung up first. */
  done: Promise<{ completed: boolean; bytesSent: number }>
}

export interface FaultyOrigin {
  /** `http://127.0.0.1:PORT`: use as `s3.endpoint`. */
  endpoint: string
  requests: OriginRequest[]
  /** Queues faults: each request takes the next; when none is queued, the default answers. */
  queue(...faults: Fault[]): void
  /** What answers when nothing is queued. Initially `{ kind: 'ok', body: 'hello' }`. */
  setDefault(fault: Fault): void
  /** Forgets recorded requests and queued faults; restores the default. */
  reset(): void
  close(): Promise<void>
}

export async function startFaultyOrigin(): Promise<FaultyOrigin> {
  const requests: OriginRequest[] = []
  const queued: Fault[] = []
  const initialDefault: Fault = { kind: 'ok', body: 'hello' }
  let fallback: Fault = initialDefault
  const timers = new Set<ReturnType<typeof setTimeout>>()

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
  }

  const afterHeld = (fault: { headersDelayMs?: number; heldUntil?: Promise<unknown> }, fn: () => void) => {
    if (fault.heldUntil) void fault.heldUntil.then(fn, fn)
    else later(fault.headersDelayMs ?? 0, fn)
  }

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    let bytesSent = 0
    let settle!: (result: { completed: boolean; bytesSent: number }) => void
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      done: new Promise((resolve) => (settle = resolve)),
    })
    res.once('close', () => settle({ completed: res.writableFinished, bytesSent }))
    req.resume()
    const fault = queued.shift() ?? fallback
    const head = req.method === 'HEAD'
    const write = (chunk: Uint8Array) => {
      if (res.destroyed) return
      bytesSent += chunk.byteLength
      res.write(chunk)
    }

    switch (fault.kind) {
      case 'ok': {
        const body = bytes(fault.body ?? 'hello')
        afterHeld(fault, () => {
          if (res.destroyed) return
          res.writeHead(200, {
            'Content-Type': 'application/octet-stream',
            'Content-Length': String(body.byteLength),
            ETag: '"etag-1"',
            'x-amz-request-id': 'ORIGINREQUESTID',
            ...fault.headers,
          })
          if (head) return void res.end()
          const size = fault.chunkSize ?? body.byteLength
          let offset = 0
          const next = () => {
            if (res.destroyed) return
            const chunk = body.subarray(offset, offset + size)
            offset += chunk.byteLength
            write(chunk)
            if (offset >= body.byteLength) res.end()
            else if (fault.intervalMs) later(fault.intervalMs, next)
            else next()
          }
          next()
        })
        break
      }
      case 'status':
        afterHeld(fault, () => {
          if (res.destroyed) return
          const xml = `<?xml version="1.0"?><Error><Code>Fault</Code><Message>injected</Message><RequestId>ORIGINREQUESTID</RequestId></Error>`
          res.writeHead(fault.status, { 'Content-Type': 'application/xml', 'Content-Length': String(xml.length) })
          res.end(head ? undefined : xml)
        })
        break
      case 'stall':
      case 'reset': {
        const body = bytes(fault.body)
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.byteLength) })
        if (head) return void res.end()
        write(body.subarray(0, fault.afterBytes))
        if (fault.kind === 'reset') later(20, () => res.socket?.destroy())
        break
      }
      case 'drop':
        req.socket.destroy()
        break
      case 'hang':
        break
    }
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    queue: (...faults) => void queued.push(...faults),
    setDefault(fault) {
      fallback = fault
    },
    reset() {
      requests.length = 0
      queued.length = 0
      fallback = initialDefault
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** An endpoint where nothing listens: connections are refused. */
export async function refusedEndpoint(): Promise<string> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

function bytes(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? new TextEncoder().encode(body) : body
}
