import type { Config } from '@imgroups/config';
import { connectRedis, isCluster, type RedisClient } from '@imgroups/read-model';
import { Redis, type RedisOptions } from 'ioredis';

// Short, so the API is back within a second of Redis returning after an outage.
const MAX_RECONNECT_DELAY_MS = 250;

/**
 * A request must never wait on Redis longer than REDIS_COMMAND_TIMEOUT_MS:
 * the timeout also covers commands queued while the client (re)connects, so
 * with Redis down each request fails with a 500 after at most that long,
 * while the client keeps reconnecting in the background (capped backoff,
 * forever) and the service recovers by itself. On a Cluster these are every
 * node connection's options.
 */
function connectionOptions(config: Config, overrides: RedisOptions): RedisOptions {
  return {
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: Math.max(config.REDIS_COMMAND_TIMEOUT_MS, 1000),
    enableOfflineQueue: true,
    // After one failed reconnect, queued commands fail at once instead of waiting for their timeout.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
    ...overrides,
  };
}

/**
 * The query API's read-model client: a Redis Cluster client when
 * REDIS_CLUSTER_NODES is set, else one Redis at REDIS_URL with its writes
 * coalesced (coalesceWrites below). On a Cluster every node's connection is
 * coalesced the same way, as the Cluster client opens it: one write per node
 * per turn (one socket write per command was the largest cost of a page on
 * a Cluster in the bench's profile: bench/README.md). Auto-pipelining stays
 * off: the reads that touch many slots (the cards) send one pipeline per
 * node themselves (read-model getMany).
 */
export function createRedis(config: Config, overrides: RedisOptions = {}): RedisClient {
  const redis = connectRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES }, connectionOptions(config, overrides));
  if (isCluster(redis)) redis.on('+node', (node: Redis) => coalesceWrites(node));
  else coalesceWrites(redis);
  return redis;
}

/** One Redis at `url` with the same bounds, writes coalesced: OpenIM's token-status Redis (TOKEN_STATUS_REDIS_URL), never a Cluster. */
export function createSingleRedis(config: Config, url: string, overrides: RedisOptions = {}): Redis {
  const redis = new Redis(url, connectionOptions(config, overrides));
  coalesceWrites(redis);
  return redis;
}

/**
 * One socket write per event-loop turn instead of one per command. ioredis
 * writes each command to its socket at once: a write(2) per command, which
 * was the largest single cost of a page read under load (bench/README.md).
 * Here the socket is corked at a turn's first command and uncorked once the
 * turn's I/O callbacks have run (setImmediate), so every command the turn's
 * requests issued leaves in one writev. Replies and their order are
 * ioredis's as before; a command waits at most until the end of the turn.
 * (ioredis's own enableAutoPipelining batches too, but through a Pipeline per
 * turn, and measured slower than no batching at all on this route.)
 * Applied to every new connection (reconnects make a new socket).
 */
export function coalesceWrites(redis: Redis): void {
  redis.on('connect', () => {
    const socket = redis.stream;
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
    (socket as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(uncork);
      }
      return write(...args);
    };
  });
}
