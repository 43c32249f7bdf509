import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type ChainableCommander, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * The read model runs on one Redis or on a Redis Cluster: every script call
 * declares its keys and touches one hash slot (keys.ts), so the same calls
 * work on both. `RedisClient` is either client; the few operations that
 * differ (scanning every master, WAIT on every master, reading or deleting
 * keys of many slots at once) live here.
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
  /** The masters (host:port) that reported fewer than `replicas`. */
  short: string[];
}

/**
 * WAIT `replicas` `timeoutMs` on every master's connection: each master
 * answers once every write sent earlier on that connection (this process's
 * writes to that node) has reached that many replicas, or the timeout
 * passes. `replicas` 0: nothing to wait for.
 */
export async function waitForReplicas(redis: RedisClient, replicas: number, timeoutMs: number): Promise<WaitResult> {
  if (replicas <= 0) return { ok: true, fewest: 0, short: [] };
  const nodes = masters(redis);
  const acked = await Promise.all(nodes.map((node) => node.wait(replicas, timeoutMs)));
  const short = nodes.flatMap((node, i) => (acked[i]! < replicas ? [`${node.options.host}:${node.options.port}`] : []));
  return { ok: short.length === 0, fewest: Math.min(...acked), short };
}

// ---------------------------------------------------------------------------
// Keys of many slots in one go

/** Positions in `keys` by hash slot, the slots by the node group that serves them (as the client last saw the slots). */
function bySlotAndNode(redis: Cluster, keys: readonly string[]): Map<string, Map<number, number[]>> {
  const nodes = new Map<string, Map<number, number[]>>();
  keys.forEach((key, i) => {
    const slot = calculateSlot(key);
    // Before the slots are known every slot is its own group: still correct, only more pipelines.
    const node = redis.slots[slot]?.join(',') ?? `slot ${slot}`;
    let slots = nodes.get(node);
    if (slots === undefined) nodes.set(node, (slots = new Map<number, number[]>()));
    const at = slots.get(slot);
    if (at === undefined) slots.set(slot, [i]);
    else at.push(i);
  });
  return nodes;
}

/** A pipeline's replies, or its first error. */
function replies(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('pipeline discarded');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/**
 * The values of `keys` (null where missing), as Buffers, in their order.
 * One Redis: one MGET. A Cluster: one MGET per hash slot among the keys,
 * sent as one pipeline per node, all nodes at once: a round trip per node
 * involved, never one per key. A key moved meanwhile (resharding, failover)
 * is followed by the client (MOVED).
 */
export async function getMany(redis: RedisClient, keys: readonly string[]): Promise<(Buffer | null)[]> {
  if (keys.length === 0) return [];
  if (!isCluster(redis)) return redis.mgetBuffer(...keys);
  const out = new Array<Buffer | null>(keys.length).fill(null);
  await Promise.all(
    [...bySlotAndNode(redis, keys).values()].map(async (slots) => {
      const pipeline = redis.pipeline();
      const groups = [...slots.values()];
      for (const at of groups) pipeline.mgetBuffer(...at.map((i) => keys[i]!));
      replies(await pipeline.exec()).forEach((values, g) => {
        (values as (Buffer | null)[]).forEach((v, j) => (out[groups[g]![j]!] = v));
      });
    }),
  );
  return out;
}

/**
 * One command per key, `command(pipeline, key)`, pipelined: on one Redis a
 * single pipeline, on a Cluster one per node, all at once. The replies in
 * the keys' order.
 */
export async function perKey(
  redis: RedisClient,
  keys: readonly string[],
  command: (pipeline: ChainableCommander, key: string) => void,
): Promise<unknown[]> {
  if (keys.length === 0) return [];
  if (!isCluster(redis)) {
    const pipeline = redis.pipeline();
    for (const key of keys) command(pipeline, key);
    return replies(await pipeline.exec());
  }
  const out = new Array<unknown>(keys.length);
  await Promise.all(
    [...bySlotAndNode(redis, keys).values()].map(async (slots) => {
      const pipeline = redis.pipeline();
      const order = [...slots.values()].flat();
      for (const i of order) command(pipeline, keys[i]!);
      replies(await pipeline.exec()).forEach((value, j) => (out[order[j]!] = value));
    }),
  );
  return out;
}

/**
 * UNLINK `keys`, all held by `node` (one master's connection, as scanAll
 * gives them): on a Cluster one UNLINK per hash slot (multi-key commands
 * stay within a slot there), in one pipeline. Returns how many were removed.
 */
export async function unlinkOnNode(redis: RedisClient, node: Redis, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (!isCluster(redis)) return node.unlink(...keys);
  const slots = new Map<number, string[]>();
  for (const key of keys) {
    const slot = calculateSlot(key);
    const group = slots.get(slot);
    if (group === undefined) slots.set(slot, [key]);
    else group.push(key);
  }
  const pipeline = node.pipeline();
  for (const group of slots.values()) pipeline.unlink(...group);
  return (replies(await pipeline.exec()) as number[]).reduce((n, x) => n + x, 0);
}
