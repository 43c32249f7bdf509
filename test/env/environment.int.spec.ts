import { Redis } from 'ioredis';
import { inject, describe, expect, it } from 'vitest';
import { createTopics, testKafka, uniqueId } from '@imgroups/testing';

describe('test environment', () => {
  it('gives a Redis and a Kafka-protocol broker that answer', async () => {
    const env = inject('testEnv');
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
});
