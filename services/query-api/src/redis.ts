import type { Config } from '@imgroups/config';
import { Redis, type RedisOptions } from 'ioredis';

// Short, so the API is back within a second of Redis returning after an outage.
const MAX_RECONNECT_DELAY_MS = 250;

/**
 * The query API's Redis client. A request must never wait on Redis longer than
 * REDIS_COMMAND_TIMEOUT_MS: the timeout also covers commands queued while the
 * client (re)connects, so with Redis down each request fails with a 500 after
 * at most that long, while the client keeps reconnecting in the background
 * (capped backoff, forever) and the service recovers by itself.
 */
export function createRedis(config: Config, overrides: RedisOptions = {}, url = config.REDIS_URL): Redis {
  return new Redis(url, {
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: Math.max(config.REDIS_COMMAND_TIMEOUT_MS, 1000),
    enableOfflineQueue: true,
    // After one failed reconnect, queued commands fail at once instead of waiting for their timeout.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
    ...overrides,
  });
}
