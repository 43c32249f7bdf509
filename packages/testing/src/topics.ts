import { Redis } from 'ioredis';
import { TOPIC_POOL_SIZE, type TestEnvInfo } from './environment.js';
import { createTopics, uniqueId } from './helpers.js';
import { redisVars } from './redis-topology.js';
import { POOL_PARTITIONS, poolTopic } from '@imgroups/devenv';

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
  // The one Redis, in both topologies (environment.ts): the lease is not the read model's.
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

/**
 * Settings (environment variables, as the services read them) for one
 * isolated setup on the suite's broker and Redis (REDIS_CLUSTER_NODES too
 * with TEST_REDIS=cluster): a leased topic pair, its
 * own consumer group and Redis key root, and consumer timings suited to the
 * mock broker (it evicts a member only after its session timeout).
 */
export async function isolatedSettings(
  env: TestEnvInfo,
  prefix: string,
  extra: Record<string, string> = {},
): Promise<{ id: string; topics: { events: string; dlq: string; partitions: number }; vars: Record<string, string> }> {
  const id = uniqueId(prefix);
  const topics = await leaseTopics(env);
  const vars: Record<string, string> = {
    ...redisVars(env),
    KAFKA_BROKERS: env.kafkaBrokers.join(','),
    REDIS_KEY_PREFIX: id,
    EVENTS_TOPIC: topics.events,
    DLQ_TOPIC: topics.dlq,
    CONSUMER_GROUP: `${id}-projector`,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    PROJECTOR_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  };
  return { id, topics, vars };
}
