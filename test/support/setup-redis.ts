/** Vitest global setup of the integration project: a `redis-server` to start, or a stop with the install line. */
import { provisionRedisServer } from './provision-redis.js'

export default function setup(): void {
  provisionRedisServer()
}
