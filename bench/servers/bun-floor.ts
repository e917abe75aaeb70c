/**
 * The Bun floor: a bare `Bun.serve` answering `GET /<anything>/<size>` with `<size>`
 * bytes from memory and the headers a cache hit carries.
 */
declare const Bun: any

const bodies = new Map<number, Uint8Array<ArrayBuffer>>()
const LAST_MODIFIED = new Date(Date.UTC(2026, 0, 1)).toUTCString()

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(request: Request) {
    const size = Number(new URL(request.url).pathname.split('/')[2])
    let body = bodies.get(size)
    if (body === undefined) {
      if (!Number.isSafeInteger(size) || size > 16 << 20) return new Response(null, { status: 404 })
      body = new Uint8Array(size).fill(97)
      bodies.set(size, body)
    }
    return new Response(request.method === 'HEAD' ? null : body, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(body.byteLength),
        etag: `"${size.toString(16)}-bench"`,
        'last-modified': LAST_MODIFIED,
        'accept-ranges': 'bytes',
      },
    })
  },
})
process.stdout.write(JSON.stringify({ ready: `http://127.0.0.1:${server.port}` }) + '\n')
process.on('SIGTERM', () => process.exit(0))
