/**
 * Preloaded (`--import`) into a proxy by disconnect-reads.mjs: when a client response
 * closes unfinished, records the origin sockets' bytesRead; when such a socket closes,
 * prints (stderr, one JSON line) its bytesRead then and at the client's leaving.
 * ORIGIN_PORT names the origin's port.
 */
import http from 'node:http'
import net from 'node:net'
const now = () => performance.timeOrigin + performance.now()
const originPort = Number(process.env.ORIGIN_PORT)
const live = new Set()
const origConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (...args) {
  const s = this
  s.once('connect', () => {
    if (s.remotePort !== originPort) return
    live.add(s)
    s.once('close', () => { live.delete(s); if (s._yt) process.stderr.write(JSON.stringify({ ev: 'originClose', t: now(), bytesRead: s.bytesRead, atClientClose: s._yt.bytesRead, clientCloseT: s._yt.t }) + '\n') })
  })
  return origConnect.apply(this, args)
}
const origEmit = http.Server.prototype.emit
http.Server.prototype.emit = function (ev, req, res) {
  if (ev === 'request') res.once('close', () => { if (!res.writableFinished) for (const s of live) s._yt = { bytesRead: s.bytesRead, t: now() } })
  return origEmit.apply(this, arguments)
}
