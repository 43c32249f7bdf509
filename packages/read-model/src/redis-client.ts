import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * The read model runs on one Redis or on a Redis Cluster: every script call
 * declares its keys and touches one hash slot (keys.ts), so the same calls
 * work on both. `RedisClient` is either client; the few operations that
 * differ (scanning every master, WAIT on every master) live here.
 */
export type RedisClient = Redis | Cluster;

export const isCluster = (redis: RedisClient): redis is Cluster => redis instanceof Cluster;

export interface RedisTarget {
  /** One Redis (used when `clusterNodes` is empty). */
  url?: string;
  /** Seed nodes `host:port` of a Redis Cluster. */
  clusterNodes?: readonly string[];
}

/**
 * A client for `target`: a Cluster client when seed nodes are given, else one
 * Redis at `url`. `options` apply to every node's connection.
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}, clusterOptions: ClusterOptions = {}): RedisClient {
  const nodes = target.clusterNodes ?? [];
  if (nodes.length === 0) return new Redis(target.url ?? 'redis://127.0.0.1:6379', options);
  return new Cluster(
    nodes.map((n) => {
      const i = n.lastIndexOf(':');
      return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
    }),
    {
      redisOptions: options,
      // Failover: a promoted replica answers MOVED; the slots are re-read at once.
      slotsRefreshTimeout: 2000,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      enableOfflineQueue: options.enableOfflineQueue ?? true,
      ...clusterOptions,
    },
  );
}

/** The masters' connections (the one Redis, for a single node). */
export function masters(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

/**
 * SCAN MATCH `pattern` over every master, `count` keys per step; `onKeys`
 * gets each step's keys with the connection of the node that holds them.
 */
export async function scanAll(
  redis: RedisClient,
  pattern: string,
  count: number,
  onKeys: (keys: string[], node: Redis) => Promise<boolean | void>,
): Promise<boolean> {
  for (const node of masters(redis)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (found.length > 0 && (await onKeys(found, node)) === false) return false;
    } while (cursor !== '0');
  }
  return true;
}

export interface WaitResult {
  /** Every master had its writes on at least `replicas` replicas. */
  ok: boolean;
  /** The fewest replicas a master reported. */
  fewest: number;
}

/**
 * WAIT `replicas` `timeoutMs` on every master's connection: each master
 * answers once every write sent earlier on that connection (this process's
 * writes to that node) has reached that many replicas, or the timeout
 * passes. `replicas` 0: nothing to wait for.
 */
export async function waitForReplicas(redis: RedisClient, replicas: number, timeoutMs: number): Promise<WaitResult> {
  if (replicas <= 0) return { ok: true, fewest: 0 };
  const acked = await Promise.all(masters(redis).map((node) => node.wait(replicas, timeoutMs)));
  const fewest = Math.min(...acked);
  return { ok: fewest >= replicas, fewest };
}
