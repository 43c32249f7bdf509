import { redisClusterInstalled, startRedisCluster, type LocalRedisCluster } from '@imgroups/devenv';

/**
 * Where the suites keep the read model: TEST_REDIS=single (the default: the
 * environment's one Redis) or TEST_REDIS=cluster (a local Redis Cluster,
 * devenv's startRedisCluster: 3 masters + 3 replicas on free ports, no
 * Docker). The one Redis runs in both: with a cluster it keeps only what is
 * not the read model's (OpenIM's token-status keys, the topic lease).
 */
export type RedisTopology = 'single' | 'cluster';

/** TEST_REDIS, checked: unset or empty is 'single'. */
export function testRedisTopology(value = process.env.TEST_REDIS): RedisTopology {
  if (value === undefined || value === '' || value === 'single') return 'single';
  if (value === 'cluster') return 'cluster';
  throw new Error(`TEST_REDIS must be "single" or "cluster", not "${value}"`);
}

/** The local cluster for TEST_REDIS=cluster, its seed nodes as `host:port`. */
export async function startTestRedisCluster(): Promise<{ nodes: string[]; cluster: LocalRedisCluster }> {
  if (!redisClusterInstalled()) {
    const err = new Error(
      'TEST_REDIS=cluster starts a local Redis Cluster: it needs redis-server and redis-cli (≥ 7.0) on PATH ' +
        '(Debian/Ubuntu: apt-get install redis-server redis-tools)',
    );
    err.stack = `Error: ${err.message}`; // a machine setup problem: a stack trace would only be noise
    throw err;
  }
  // No test here kills a node (devenv's own spec does, on a cluster of its own): a node-timeout
  // above the 2 s default keeps a node that the loaded machine stalls from being failed over.
  const cluster = await startRedisCluster({ nodeTimeoutMs: 5000 });
  return { nodes: cluster.seeds.map((s) => `${s.host}:${s.port}`), cluster };
}

/** What the services read to find the read model's Redis (REDIS_URL, and REDIS_CLUSTER_NODES on a cluster). */
export function redisVars(env: { redisUrl: string; redisClusterNodes: readonly string[] }): {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string;
} {
  return env.redisClusterNodes.length > 0
    ? { REDIS_URL: env.redisUrl, REDIS_CLUSTER_NODES: env.redisClusterNodes.join(',') }
    : { REDIS_URL: env.redisUrl };
}
