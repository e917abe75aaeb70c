/**
 * The conformance target on Vercel's Edge runtime (the `edge-runtime` npm package): a
 * service-worker script that imports the package by name, bundled the way an Edge
 * deployment bundles it (test/support/edge-bundle.ts). The host defines the config as
 * the global `YATAGARASU_CONFIG` (JSON text); background work goes to the event's
 * `waitUntil`.
 */
import { createYatagarasu, silentLogger } from 'yatagarasu'

declare const YATAGARASU_CONFIG: string
interface FetchEvent extends Event {
  readonly request: Request
  respondWith(response: Promise<Response>): void
  waitUntil(promise: Promise<unknown>): void
}

const handler = createYatagarasu(JSON.parse(YATAGARASU_CONFIG), { logger: silentLogger })

addEventListener('fetch', (event) => {
  const fetchEvent = event as FetchEvent
  fetchEvent.respondWith(handler(fetchEvent.request, { waitUntil: (promise) => fetchEvent.waitUntil(promise) }))
})
