import { decodeEvent } from '@imgroups/contracts';
import type { Config } from '@imgroups/config';
import { OUTCOMES, ReadModel, type Outcome, type PositionedEvent } from '@imgroups/read-model';
import type { Redis } from 'ioredis';
import { Partitioners, type Consumer, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { deadLetter, type DeadLetter } from './dead-letter.js';
import { retryUntil } from './retry.js';

export type ProjectorConfig = Pick<
  Config,
  | 'REDIS_KEY_PREFIX'
  | 'EVENTS_TOPIC'
  | 'DLQ_TOPIC'
  | 'CONSUMER_GROUP'
  | 'MAX_EVENT_BYTES'
  | 'DEDUPE_WINDOW'
  | 'KAFKA_SESSION_TIMEOUT_MS'
  | 'KAFKA_HEARTBEAT_INTERVAL_MS'
  | 'KAFKA_RETRIES'
  | 'SHUTDOWN_TIMEOUT_MS'
>;

export interface ProjectorDeps {
  config: ProjectorConfig;
  redis: Redis;
  kafka: Kafka;
  logger: Logger;
  /** Messages per slice: decode, dead-letter, apply, then resolve. */
  sliceSize?: number;
}

export interface ProjectorStats {
  batches: number;
  messages: number;
  deadLettered: number;
  outcomes: Record<Outcome, number>;
  redisRetries: number;
}

export interface Projector {
  readonly stats: ProjectorStats;
  /** Resolves once the consumer has joined and is running. */
  start(): Promise<void>;
  /** Stop fetching, let the current slice finish (or abandon it uncommitted), disconnect. */
  stop(): Promise<void>;
  /** Rejects when the consumer crashes for good (Kafka gone past its retries). */
  readonly crashed: Promise<never>;
}

export function build(deps: ProjectorDeps): Projector {
  const { config, redis, kafka, logger } = deps;
  const sliceSize = deps.sliceSize ?? 500;
  const readModel = new ReadModel(redis, { root: config.REDIS_KEY_PREFIX, dedupeWindow: config.DEDUPE_WINDOW });
  const stats: ProjectorStats = {
    batches: 0,
    messages: 0,
    deadLettered: 0,
    outcomes: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>,
    redisRetries: 0,
  };
  let stopping = false;

  // Crashes in a row without a batch applied in between; any applied batch resets it.
  let crashesInARow = 0;
  const consumer: Consumer = kafka.consumer({
    groupId: config.CONSUMER_GROUP,
    retry: {
      retries: config.KAFKA_RETRIES,
      initialRetryTime: 300,
      maxRetryTime: 10_000,
      // kafkajs gives up on a retriable error (broker gone, connection closed
      // during a join) by crashing the consumer. Restart it with a growing
      // delay, KAFKA_RETRIES times in a row at most; then the process exits
      // non-zero (main.ts) for its supervisor to restart: never a silent wedge.
      restartOnFailure: async (err) => {
        crashesInARow++;
        if (stopping || crashesInARow > config.KAFKA_RETRIES) return false;
        const delayMs = Math.min(300 * 2 ** (crashesInARow - 1), 10_000);
        logger.warn({ err: err.message, attempt: crashesInARow, delayMs }, 'kafka consumer failed; restarting it');
        await new Promise((r) => setTimeout(r, delayMs));
        return !stopping;
      },
    },
    sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatInterval: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    // Fetch at least one whole maximal event.
    maxBytesPerPartition: Math.max(1024 * 1024, config.MAX_EVENT_BYTES + 64 * 1024),
    allowAutoTopicCreation: false,
  });
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });

  let rejectCrash: (err: Error) => void = () => {};
  const crashed = new Promise<never>((_, reject) => {
    rejectCrash = reject;
  });
  crashed.catch(() => {}); // observed by main.ts; never an unhandled rejection here
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    logger.error({ err: payload.error, restart: payload.restart }, 'kafka consumer crashed');
    if (!payload.restart) rejectCrash(payload.error);
  });

  async function sendDeadLetters(letters: DeadLetter[], keys: (Buffer | null)[], keepGoing: () => boolean) {
    const result = await retryUntil(
      () =>
        producer.send({
          topic: config.DLQ_TOPIC,
          acks: -1,
          messages: letters.map((l, i) => ({
            key: keys[i] ?? null,
            value: JSON.stringify(l),
            headers: { 'dlq-reason': l.reason.slice(0, 500), 'dlq-kind': l.kind },
          })),
        }),
      {
        shouldGoOn: keepGoing,
        onRetry: (err, attempt, delayMs) => logger.warn({ err, attempt, delayMs }, 'dead-letter produce failed; retrying'),
      },
    );
    return result.ok;
  }

  async function handleBatch(payload: EachBatchPayload) {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const keepGoing = () => isRunning() && !isStale() && !stopping;
    stats.batches++;
    for (let i = 0; i < batch.messages.length; i += sliceSize) {
      if (!keepGoing()) return; // unresolved offsets are not committed; they come again
      const slice = batch.messages.slice(i, i + sliceSize);
      const events: PositionedEvent[] = [];
      const letters: DeadLetter[] = [];
      const letterKeys: (Buffer | null)[] = [];
      for (const m of slice) {
        const decoded = decodeEvent(m.value, config.MAX_EVENT_BYTES);
        const where = { topic: batch.topic, partition: batch.partition, ...m };
        if (!decoded.ok) {
          letters.push(deadLetter(decoded, where));
          letterKeys.push(m.key);
        } else if (m.key !== null && m.key.toString('utf8') !== decoded.event.groupID) {
          // Key = groupID is what puts a group's events in one partition, in
          // order; the guards rely on it, so a mismatch is not applied.
          letters.push(
            deadLetter({ kind: 'schema', reason: `message key "${m.key.toString('utf8')}" is not the groupID "${decoded.event.groupID}"` }, where),
          );
          letterKeys.push(m.key);
        } else {
          events.push({ offset: m.offset, event: decoded.event });
        }
      }
      // Dead letters first: once the offset is committed the bad message must be in the DLQ.
      if (letters.length > 0) {
        if (!(await sendDeadLetters(letters, letterKeys, keepGoing))) return;
        stats.deadLettered += letters.length;
        for (const l of letters) logger.warn({ partition: l.partition, offset: l.offset, kind: l.kind, reason: l.reason }, 'event dead-lettered');
      }
      const last = slice[slice.length - 1]!.offset;
      const applied = await retryUntil(() => readModel.apply(null, batch.partition, events, last), {
        shouldGoOn: keepGoing,
        onRetry: async (err, attempt, delayMs) => {
          stats.redisRetries++;
          logger.warn({ err: (err as Error).message, attempt, delayMs, partition: batch.partition }, 'redis apply failed; retrying');
          try {
            await heartbeat();
          } catch {
            // a rebalance is under way; keepGoing() will notice isStale()
          }
        },
      });
      if (!applied.ok) return;
      for (const o of applied.value) stats.outcomes[o]++;
      stats.messages += slice.length;
      resolveOffset(last);
      crashesInARow = 0;
      await heartbeat();
    }
  }

  return {
    stats,
    crashed,
    async start() {
      // The live projector writes to whichever generation is active when each
      // chunk runs (read inside the apply script), so it follows a rebuild's switch.
      const generation = await readModel.ensureActiveGeneration();
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: config.EVENTS_TOPIC, fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        // Resolved (= applied) offsets are committed after every batch and every 5 s within long ones.
        autoCommitInterval: 5000,
        eachBatch: handleBatch,
      });
      logger.info({ topic: config.EVENTS_TOPIC, group: config.CONSUMER_GROUP, generation }, 'projector running');
    },
    async stop() {
      stopping = true;
      await consumer.stop();
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    },
  };
}
