import { loadConfig, type Config } from '@imgroups/config';
import { build as buildProjector, type Projector } from '@imgroups/projector';
import { ReadModel, type RedisClient } from '@imgroups/read-model';
import { testRedis } from '@imgroups/read-model/test-redis';
import {
  isolatedSettings,
  testKafka,
  uniqueId,
  waitFor,
  type RawGroupEvent,
  type TestEnvInfo,
} from '@imgroups/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { pino } from 'pino';

/**
 * One isolated pipeline per test: its own topic, dead-letter topic, consumer
 * group and Redis key root, on the suite's shared broker and Redis.
 */
export interface Pipeline {
  config: Config;
  redis: RedisClient;
  readModel: ReadModel;
  producer: Producer;
  projector: Projector;
  publish(events: (RawGroupEvent | { key: string | null; value: string | Buffer })[]): Promise<void>;
  /** Every message on the dead-letter topic, parsed. */
  readDeadLetters(expected: number): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startPipeline(env: TestEnvInfo, overrides: Record<string, string> = {}): Promise<Pipeline> {
  const { vars } = await isolatedSettings(env, 'e2e', overrides);
  const config = loadConfig(vars);
  const redis = testRedis(config);
  const kafka = testKafka(env.kafkaBrokers);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const projector = buildProjector({ config, redis, kafka, logger: pino({ level: config.LOG_LEVEL }) });
  await projector.start();
  const readModel = new ReadModel(redis, {
    root: config.REDIS_KEY_PREFIX,
    dedupeWindow: config.DEDUPE_WINDOW,
    seqTombstones: config.SEQ_TOMBSTONES,
    syncLogMax: config.SYNC_LOG_MAX,
  });

  return {
    config,
    redis,
    readModel,
    producer,
    projector,
    async publish(events) {
      await producer.send({
        topic: config.EVENTS_TOPIC,
        acks: -1,
        messages: events.map((e) =>
          'eventID' in e ? { key: e.groupID, value: JSON.stringify(e) } : { key: e.key, value: e.value },
        ),
      });
    },
    async readDeadLetters(expected) {
      const consumer = kafka.consumer({ groupId: uniqueId('dlq-reader-') });
      const letters: Record<string, unknown>[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: config.DLQ_TOPIC, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          letters.push(JSON.parse(message.value!.toString('utf8')) as Record<string, unknown>);
        },
      });
      try {
        await waitFor(() => letters.length >= expected, { timeoutMs: 30_000, message: `${expected} dead letters` });
      } finally {
        await consumer.disconnect();
      }
      return letters;
    },
    async close() {
      await projector.stop();
      await producer.disconnect();
      redis.disconnect();
    },
  };
}
