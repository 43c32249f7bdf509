import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isListening } from './processes.js';
import { redisClusterInstalled, startRedisCluster, type LocalRedisCluster } from './redis-cluster.js';
import { pidAlive } from './redis-cluster-support.js';

/**
 * The local Redis Cluster itself: its own processes on free ports, not the
 * suite's test environment. One master is SIGKILLed; its replica must take
 * over, and the other shards' keys must not notice.
 */

const ms = (since: number) => Math.round(performance.now() - since);

/** A plain connection to one node, for what the cluster client hides: which node holds which keys. */
async function onNode<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

describe.skipIf(!redisClusterInstalled())('startRedisCluster (redis-server and redis-cli ≥ 7.0 on PATH)', () => {
  let cluster: LocalRedisCluster | undefined;
  let client: Cluster | undefined;
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('starts 3 masters with a replica each, fails over a SIGKILLed master, and stops every process', async () => {
    let since = performance.now();
    cluster = await startRedisCluster();
    const startMs = ms(since);

    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    expect(cluster.nodes.filter((n) => n.role === 'replica')).toHaveLength(3);
    for (const master of masters) expect(await cluster.replicasOf(master.port)).toHaveLength(1);
    expect(cluster.url).toBe(`redis://${cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',')}`);

    client = new Cluster([...cluster.seeds]);
    const keys = Array.from({ length: 30 }, (_, i) => `devenv-cluster:${i}`);
    await Promise.all(keys.map((key) => client!.set(key, `v-${key}`)));
    // One command over several keys: CROSSSLOT unless the hash tag puts them in one slot.
    const tagged = ['{user:42}:groups', '{user:42}:version', '{user:42}:log'];
    expect(await client.mset(Object.fromEntries(tagged.map((key) => [key, `v-${key}`])))).toBe('OK');
    expect(new Set(await Promise.all(tagged.map((key) => client!.cluster('KEYSLOT', key)))).size).toBe(1);

    const held = new Map<number, string[]>();
    for (const master of masters) held.set(master.port, (await onNode(master.port, (r) => r.keys('*'))).sort());
    for (const [port, own] of held) expect(own.length, `keys on master :${port}`).toBeGreaterThan(0);
    const victim = masters.find((m) => tagged.every((key) => held.get(m.port)!.includes(key)))!;
    expect(victim, 'the master holding the hash-tagged keys').toBeDefined();
    const [replica] = await cluster.replicasOf(victim.port);
    // Replication is asynchronous: let the replica catch up before the crash, so no write is lost.
    await vi.waitFor(
      async () => expect(await onNode(replica!.port, (r) => r.dbsize())).toBe(held.get(victim.port)!.length),
      { timeout: 5000, interval: 50 },
    );

    since = performance.now();
    await cluster.killNode(victim.port, 'SIGKILL');
    const promoted = await cluster.waitForFailover(victim.port);
    const failoverMs = ms(since);
    expect(promoted.port).toBe(replica!.port);
    expect((await cluster.masters()).map((m) => m.port).sort()).toEqual(
      masters.map((m) => (m.port === victim.port ? promoted.port : m.port)).sort(),
    );

    // The same client answers again, for the failed-over slots too, once it has followed the new slot map.
    since = performance.now();
    await vi.waitFor(async () => expect(await client!.set('{user:42}:after', 'yes')).toBe('OK'), { timeout: 15_000, interval: 100 });
    const answersMs = ms(since);
    expect(await client.get('{user:42}:after')).toBe('yes');
    for (const key of [...keys, ...tagged]) expect(await client.get(key)).toBe(`v-${key}`);
    console.log(`redis cluster: started in ${startMs} ms, failed over in ${failoverMs} ms, client answered ${answersMs} ms later`);

    client.disconnect();
    client = undefined;
    const stopping = cluster;
    cluster = undefined;
    await stopping.stop();
    expect(stopping.nodes.filter((n) => n.running)).toEqual([]);
    for (const node of stopping.nodes) {
      expect(pidAlive(node.pid), `redis-server pid ${node.pid} (:${node.port})`).toBe(false);
      expect(await isListening(node.host, node.port), `:${node.port} listening`).toBe(false);
    }
  });
});
