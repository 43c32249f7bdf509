/**
 * The read model's Redis in tests (imported as '@imgroups/read-model/test-redis';
 * left out of dist like the other test helpers): one Redis or a Redis Cluster,
 * as the test environment says (TEST_REDIS, packages/testing's
 * redis-topology.ts), through the same connectRedis the services use. And the
 * key clean-ups that work on both: a Cluster keeps keys on every master, and a
 * command over several keys must keep to one slot.
 */
import type { RedisOptions } from 'ioredis';
import { connectRedis, scanAll, type RedisClient } from './redis-client.js';

export { isCluster, masters } from './redis-client.js';

/**
 * Where the read model's Redis is: the test environment (`inject('testEnv')`),
 * or a service's Config or settings (REDIS_URL, REDIS_CLUSTER_NODES as a list
 * or comma-separated).
 */
export type TestRedisSource =
  | { redisUrl: string; redisClusterNodes?: readonly string[] }
  | { REDIS_URL?: string; REDIS_CLUSTER_NODES?: string | readonly string[] };

/** The read model's client for `source`: a Cluster client when it names cluster nodes, else one Redis. */
export function testRedis(source: TestRedisSource, options: RedisOptions = {}): RedisClient {
  if ('redisUrl' in source) return connectRedis({ url: source.redisUrl, clusterNodes: source.redisClusterNodes ?? [] }, options);
  const nodes = source.REDIS_CLUSTER_NODES;
  const clusterNodes = typeof nodes === 'string' ? nodes.split(',').filter(Boolean) : (nodes ?? []);
  return connectRedis({ url: source.REDIS_URL, clusterNodes }, options);
}

/** Every key matching `pattern` (SCAN on every master), sorted, once each. */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const keys = new Set<string>();
  await scanAll(redis, pattern, 1000, async (batch) => {
    for (const k of batch) keys.add(k);
  });
  return [...keys].sort();
}

/**
 * UNLINK every key matching `pattern` (SCAN on every master, one UNLINK per
 * key, pipelined per step: keys of one node may be in different slots);
 * resolves with how many were removed.
 */
export async function unlinkMatching(redis: RedisClient, pattern: string): Promise<number> {
  let removed = 0;
  await scanAll(redis, pattern, 1000, async (batch, node) => {
    const replies = await node.pipeline(batch.map((k) => ['unlink', k])).exec();
    for (const [err, n] of replies ?? []) {
      if (err) throw err;
      removed += Number(n);
    }
  });
  return removed;
}

/** DEL each of `keys` (one command per key: they may be in different slots). */
export async function delEach(redis: RedisClient, keys: readonly string[]): Promise<void> {
  await Promise.all(keys.map((k) => redis.del(k)));
}
