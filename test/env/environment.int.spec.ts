// The test-redis entry, not the package's: this file must not load the Lua scripts.
import { isCluster, keysMatching, masters, testRedis, unlinkMatching } from '@imgroups/read-model/test-redis';
import { Redis } from 'ioredis';
import { inject, describe, expect, it } from 'vitest';
import { createTopics, redisVars, testKafka, uniqueId } from '@imgroups/testing';

const env = inject('testEnv');
const onCluster = env.redisTopology === 'cluster';

describe('test environment', () => {
  it('gives a Redis and a Kafka-protocol broker that answer', async () => {
    const redis = new Redis(env.redisUrl);
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
    const topic = uniqueId('topic-');
    await createTopics(env.kafkaBrokers, [{ topic, numPartitions: 2 }]);
    const admin = testKafka(env.kafkaBrokers).admin();
    await admin.connect();
    expect(await admin.listTopics()).toContain(topic);
    await admin.disconnect();
  });

  it(`gives the read model's Redis as TEST_REDIS says (${env.redisTopology}), and the services' settings for it`, async () => {
    const redis = testRedis(env);
    try {
      expect(isCluster(redis)).toBe(onCluster);
      expect(await redis.ping()).toBe('PONG');
      expect(redisVars(env)).toEqual(
        onCluster ? { REDIS_URL: env.redisUrl, REDIS_CLUSTER_NODES: env.redisClusterNodes.join(',') } : { REDIS_URL: env.redisUrl },
      );
    } finally {
      redis.disconnect();
    }
  });

  // TEST_REDIS=cluster only: the cluster itself, as the read model's tests use it.
  it.skipIf(!onCluster)('with TEST_REDIS=cluster: 3 masters, keys spread over them, found and removed on every master', async () => {
    expect(env.redisClusterNodes).toHaveLength(6);
    const redis = testRedis(env);
    try {
      expect(await redis.set(uniqueId('warm'), '1', 'PX', 1000)).toBe('OK'); // connected, slots known
      expect(masters(redis)).toHaveLength(3);
      const root = uniqueId('envc');
      const keys = Array.from({ length: 60 }, (_, i) => `${root}:{k${i}}:v`);
      await Promise.all(keys.map((k, i) => redis.set(k, String(i))));
      const perMaster = await Promise.all(masters(redis).map(async (node) => (await node.keys(`${root}:*`)).length));
      expect(perMaster.filter((n) => n > 0)).toHaveLength(3);
      expect(await keysMatching(redis, `${root}:*`)).toEqual([...keys].sort());
      expect(await unlinkMatching(redis, `${root}:*`)).toBe(keys.length);
      expect(await keysMatching(redis, `${root}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
