import { connectRedis, type RedisClient } from '@imgroups/read-model';
import { startRedisCluster, startRedisServer } from '@imgroups/devenv';
import { Redis } from 'ioredis';

/**
 * The benches' Redis (bench:apply's, and bench:query's too): one
 * redis-server, or a local Redis Cluster (3 masters, 3 replicas), each
 * started here on free ports and stopped by stop(). The paths run on `redis`
 * (a Cluster client on the cluster, as the projector would); the bench's own
 * INFO calls go over separate connections, one per node, so they neither
 * share the paths' sockets nor count as theirs.
 */

export type TopologyName = 'single' | 'cluster';

export interface Topology {
  name: TopologyName;
  /** The client the paths use (the product's options: maxRetriesPerRequest 1). */
  redis: RedisClient;
  /** One admin connection per master (the one server, single-node). */
  masters: Redis[];
  /** One admin connection per replica (none, single-node). */
  replicas: Redis[];
  describe: string;
  /**
   * How a service reaches it: REDIS_URL single-node; REDIS_CLUSTER_NODES on
   * the cluster, and REDIS_URL a node of it too, so that nothing a service
   * might open on REDIS_URL (TOKEN_STATUS_REDIS_URL defaults to it) reaches
   * the machine's own Redis.
   */
  serviceEnv: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTopology(name: TopologyName): Promise<Topology> {
  if (name === 'single') {
    const server = await startRedisServer();
    const redis = connectRedis({ url: server.url }, { maxRetriesPerRequest: 1 });
    const admin = new Redis(server.url);
    return {
      name,
      redis,
      masters: [admin],
      replicas: [],
      describe: `redis-server on ${server.url} (its own, in memory)`,
      serviceEnv: { REDIS_URL: server.url },
      stop: async () => {
        redis.disconnect();
        admin.disconnect();
        await server.stop();
      },
    };
  }
  // A long node timeout: a node stalled by the busy machine must not be failed over mid-run.
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 10_000 });
  const seeds = cluster.seeds.map((s) => `${s.host}:${s.port}`);
  const redis = connectRedis({ clusterNodes: seeds }, { maxRetriesPerRequest: 1 });
  const masterNodes = await cluster.masters();
  const replicaNodes = cluster.nodes.filter((n) => n.role === 'replica');
  const conn = (n: { host: string; port: number }) => new Redis({ host: n.host, port: n.port });
  const masters = masterNodes.map(conn);
  const replicas = replicaNodes.map(conn);
  await redis.get('bench-warmup'); // the Cluster client has read the slots
  return {
    name,
    redis,
    masters,
    replicas,
    describe:
      `Redis Cluster of its own: masters ${masterNodes.map((n) => `:${n.port}`).join(' ')}, ` +
      `replicas ${replicaNodes.map((n) => `:${n.port}`).join(' ')} (in memory, no Docker)`,
    serviceEnv: { REDIS_CLUSTER_NODES: seeds.join(','), REDIS_URL: `redis://${seeds[0]!}` },
    stop: async () => {
      redis.disconnect();
      for (const c of [...masters, ...replicas]) c.disconnect();
      await cluster.stop();
    },
  };
}

/** `key:value` lines of an INFO reply. */
function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function cpuMs(node: Redis): Promise<number> {
  const f = infoFields(await node.info('cpu'));
  return (Number(f.get('used_cpu_user')) + Number(f.get('used_cpu_sys'))) * 1000;
}

/**
 * Commands that are housekeeping, not the path's: the admin connections'
 * INFO, the Cluster client's slot reads, the replicas' REPLCONF ACKs.
 */
const HOUSEKEEPING = /^(info|cluster|command|client|hello|ping|readonly|select|replconf)(\||$)/;

/** Calls per command since the server started, summed over `nodes`. */
async function commandCalls(nodes: Redis[]): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const node of nodes) {
    for (const [k, v] of infoFields(await node.info('commandstats'))) {
      const cmd = k.replace(/^cmdstat_/, '');
      if (HOUSEKEEPING.test(cmd)) continue;
      const n = Number(/calls=(\d+)/.exec(v)?.[1] ?? 0);
      calls.set(cmd, (calls.get(cmd) ?? 0) + n);
    }
  }
  return calls;
}

/** used_cpu_user + used_cpu_sys summed over the masters (the one server, single-node), in ms. */
export async function mastersCpuMs(t: Topology): Promise<number> {
  return sum(await Promise.all(t.masters.map(cpuMs)));
}

export interface Snapshot {
  mastersCpuMs: number;
  replicasCpuMs: number;
  calls: Map<string, number>;
}

export async function snapshot(t: Topology): Promise<Snapshot> {
  return {
    mastersCpuMs: await mastersCpuMs(t),
    replicasCpuMs: sum(await Promise.all(t.replicas.map(cpuMs))),
    calls: await commandCalls(t.masters),
  };
}

/** Adds after - before into `into`. */
export function addCalls(into: Map<string, number>, before: Map<string, number>, after: Map<string, number>): void {
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0);
    if (d > 0) into.set(cmd, (into.get(cmd) ?? 0) + d);
  }
}

/**
 * Until every master's replicas have its whole replication stream (offsets
 * equal), at most `timeoutMs`: so a path's replica CPU and memory are not
 * counted in the next one's window. Nothing to do single-node.
 */
export async function settleReplication(t: Topology, timeoutMs = 10_000): Promise<boolean> {
  if (t.replicas.length === 0) return true;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let behind = false;
    for (const m of t.masters) {
      const f = infoFields(await m.info('replication'));
      const offset = f.get('master_repl_offset');
      for (const [k, v] of f) if (/^slave\d+$/.test(k) && /offset=(\d+)/.exec(v)?.[1] !== offset) behind = true;
    }
    if (!behind) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * used_memory summed over the masters, less their replication buffers
 * (mem_replication_backlog, mem_clients_slaves: the backlog fills up to its
 * fixed size as writes come, whatever the data). Single-node both are 0.
 */
export async function usedMemory(t: Topology): Promise<number> {
  let total = 0;
  for (const m of t.masters) {
    const f = infoFields(await m.info('memory'));
    total += Number(f.get('used_memory')) - Number(f.get('mem_replication_backlog') ?? 0) - Number(f.get('mem_clients_slaves') ?? 0);
  }
  return total;
}

/**
 * SCRIPT LOAD on every master before the rounds: otherwise the first path
 * to run pays each node's NOSCRIPT and EVAL of the source.
 */
export async function preloadScripts(t: Topology, sources: readonly string[]): Promise<void> {
  for (const m of t.masters) for (const source of sources) await m.script('LOAD', source);
}
