import { Redis } from 'ioredis';
import type { TestEnvInfo } from './environment.js';
import { createTopics, uniqueId } from './helpers.js';
import { POOL_PARTITIONS, poolTopic } from './processes.js';

export const TOPIC_POOL_SIZE = 64;
const LEASE_KEY = 'testenv:topic-lease';

/**
 * A topic and its dead-letter topic that no other test uses. On the mock
 * broker: the next pair of its declared pool (the counter lives in the
 * suite's Redis, so parallel test files never share a pair). On real Kafka:
 * fresh topics.
 */
export async function leaseTopics(env: TestEnvInfo): Promise<{ events: string; dlq: string; partitions: number }> {
  if (!env.mockBroker) {
    const events = `${uniqueId('events-')}`;
    const dlq = `${events}.dlq`;
    await createTopics(env.kafkaBrokers, [
      { topic: events, numPartitions: POOL_PARTITIONS },
      { topic: dlq, numPartitions: 1 },
    ]);
    return { events, dlq, partitions: POOL_PARTITIONS };
  }
  const redis = new Redis(env.redisUrl);
  try {
    const n = (await redis.incr(LEASE_KEY)) - 1;
    if (n >= TOPIC_POOL_SIZE) {
      throw new Error(`test topic pool exhausted (${TOPIC_POOL_SIZE} pairs): raise TOPIC_POOL_SIZE in packages/testing`);
    }
    return { ...poolTopic(n), partitions: POOL_PARTITIONS };
  } finally {
    redis.disconnect();
  }
}
