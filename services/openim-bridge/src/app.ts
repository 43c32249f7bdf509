import type { Config } from '@imgroups/config';
import type { GroupEvent } from '@imgroups/contracts';
import { Partitioners, type Consumer, type EachBatchPayload, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { holdUntil } from './backoff.js';
import { bridgeDeadLetter, type BridgeDeadLetter } from './dead-letter.js';
import { IGNORE_REASONS, mapRecord, type BackfillRequest, type IgnoreReason } from './mapping.js';
import type { BridgeMetrics } from './metrics.js';

export type BridgeConfig = Pick<
  Config,
  | 'OPENIM_TOPIC'
  | 'OPENIM_CONSUMER_GROUP'
  | 'OPENIM_FROM_BEGINNING'
  | 'OPENIM_DLQ_TOPIC'
  | 'OPENIM_BACKOFF_MIN_MS'
  | 'OPENIM_BACKOFF_MAX_MS'
  | 'EVENTS_TOPIC'
  | 'KAFKA_SESSION_TIMEOUT_MS'
  | 'KAFKA_HEARTBEAT_INTERVAL_MS'
  | 'KAFKA_RETRIES'
  | 'KAFKA_REBALANCE_TIMEOUT_MS'
>;

/**
 * A 1501's initial members, read from OpenIM (backfill.ts): the events to
 * publish after the notification's own. Throws while OpenIM cannot answer;
 * the bridge then holds the partition and tries again.
 */
export type Backfill = (req: BackfillRequest) => Promise<GroupEvent[]>;

export interface BridgeDeps {
  config: BridgeConfig;
  /** OpenIM's cluster (OPENIM_KAFKA_BROKERS): the consumer reads OPENIM_TOPIC there. */
  sourceKafka: Kafka;
  /** Our cluster (KAFKA_BROKERS): events and dead letters are produced there. */
  kafka: Kafka;
  logger: Logger;
  /** Unset (no OPENIM_API_URL): a 1501 yields group.created with the members it lists, and a warning. */
  backfill?: Backfill;
  metrics?: BridgeMetrics;
  /** Records handled before their events are produced and their offsets resolved. */
  sliceSize?: number;
}

export interface BridgeStats {
  read: number;
  mapped: number;
  ignored: Record<IgnoreReason, number>;
  deadLettered: number;
  produced: number;
  backfills: number;
  backfillsSkipped: number;
  holds: number;
}

export interface Bridge {
  readonly stats: BridgeStats;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Rejects when the consumer crashes for good (Kafka gone past its retries). */
  readonly crashed: Promise<never>;
}

interface Pending {
  events: Message[];
  eventTypes: string[];
  letters: Message[];
  letterContentTypes: number[];
}

const emptyPending = (): Pending => ({ events: [], eventTypes: [], letters: [], letterContentTypes: [] });

/**
 * OpenIM's `toRedis` -> our EVENTS_TOPIC. Per batch, in offset order: map
 * each record (mapping.ts; chat is dropped after a two-varint peek), collect
 * its events and dead letters, produce them with acks=all, and only then
 * resolve the offsets, so OpenIM's offsets are committed only for records
 * whose output our topic acknowledged. A crash replays the unacknowledged
 * tail; its events carry the same IDs. A 1501's backfill runs in line: while
 * OpenIM's API is down the partition waits there (heartbeating), so a group's
 * events never overtake its creation.
 */
export function build(deps: BridgeDeps): Bridge {
  const { config, logger } = deps;
  const sliceSize = deps.sliceSize ?? 500;
  const stats: BridgeStats = {
    read: 0,
    mapped: 0,
    ignored: Object.fromEntries(IGNORE_REASONS.map((r) => [r, 0])) as Record<IgnoreReason, number>,
    deadLettered: 0,
    produced: 0,
    backfills: 0,
    backfillsSkipped: 0,
    holds: 0,
  };
  let stopping = false;
  let crashesInARow = 0;

  const consumer: Consumer = deps.sourceKafka.consumer({
    groupId: config.OPENIM_CONSUMER_GROUP,
    retry: {
      retries: config.KAFKA_RETRIES,
      initialRetryTime: 300,
      maxRetryTime: 10_000,
      // As the projector: restart a crashed consumer with a growing delay,
      // KAFKA_RETRIES times in a row at most, then exit for the supervisor.
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
    rebalanceTimeout: config.KAFKA_REBALANCE_TIMEOUT_MS,
    maxWaitTimeInMs: 1000,
    allowAutoTopicCreation: false,
  });
  const producer: Producer = deps.kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });

  let rejectCrash: (err: Error) => void = () => {};
  const crashed = new Promise<never>((_, reject) => {
    rejectCrash = reject;
  });
  crashed.catch(() => {});
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    logger.error({ err: payload.error, restart: payload.restart }, 'kafka consumer crashed');
    if (!payload.restart) rejectCrash(payload.error);
  });

  async function handleBatch(payload: EachBatchPayload) {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const keepGoing = () => isRunning() && !isStale() && !stopping;
    const beat = async () => {
      try {
        await heartbeat();
      } catch {
        // a rebalance is under way; keepGoing() notices isStale()
      }
    };
    let pending = emptyPending();
    /** The last offset whose output is collected in `pending` (or had none). */
    let collectedUpTo: string | undefined;

    /** Produce what is pending (acks=all), then resolve up to `collectedUpTo`. */
    async function flush(): Promise<boolean> {
      const out = pending;
      if (out.events.length > 0 || out.letters.length > 0) {
        const topicMessages = [
          ...(out.events.length ? [{ topic: config.EVENTS_TOPIC, messages: out.events }] : []),
          ...(out.letters.length ? [{ topic: config.OPENIM_DLQ_TOPIC, messages: out.letters }] : []),
        ];
        let holding = false;
        const sent = await holdUntil(() => producer.sendBatch({ topicMessages, acks: -1 }), {
          shouldGoOn: keepGoing,
          minDelayMs: config.OPENIM_BACKOFF_MIN_MS,
          maxDelayMs: config.OPENIM_BACKOFF_MAX_MS,
          onRetry: async (err, attempt, delayMs) => {
            if (!holding) stats.holds++;
            holding = true;
            deps.metrics?.held(topic, partition, 'produce');
            logger.warn({ err: (err as Error).message, attempt, delayMs, partition }, 'producing to our topic failed; holding the partition');
            await beat();
          },
        });
        if (holding) deps.metrics?.held(topic, partition, null);
        if (!sent.ok) return false;
        stats.produced += out.events.length;
        stats.deadLettered += out.letters.length;
        for (const type of out.eventTypes) deps.metrics?.produced(type);
        for (const ct of out.letterContentTypes) deps.metrics?.deadLettered(ct);
      }
      pending = emptyPending();
      if (collectedUpTo !== undefined) {
        resolveOffset(collectedUpTo);
        deps.metrics?.lag(topic, partition, Number(batch.highWatermark) - 1 - Number(collectedUpTo));
        crashesInARow = 0;
      }
      await beat();
      return true;
    }

    const collect = (events: GroupEvent[], m: { offset: string }) => {
      for (const e of events) {
        pending.events.push({
          key: e.groupID,
          value: JSON.stringify(e),
          headers: { 'openim-topic': topic, 'openim-partition': String(partition), 'openim-offset': m.offset },
        });
        pending.eventTypes.push(e.type);
      }
    };

    deps.metrics?.read(topic, partition, batch.messages.length);
    let sinceFlush = 0;
    for (const m of batch.messages) {
      if (!keepGoing()) return; // unresolved offsets are not committed; they come again
      stats.read++;
      const mapped = mapRecord(m.value);
      if (mapped.kind === 'ignored') {
        stats.ignored[mapped.reason]++;
        deps.metrics?.ignored(mapped.reason);
      } else if (mapped.kind === 'unreadable') {
        const letter: BridgeDeadLetter = bridgeDeadLetter(mapped, { topic, partition, ...m });
        logger.warn({ partition, offset: m.offset, reason: mapped.reason }, 'notification dead-lettered');
        pending.letters.push({ key: m.key, value: JSON.stringify(letter), headers: { 'dlq-reason': mapped.reason.slice(0, 500) } });
        pending.letterContentTypes.push(mapped.contentType);
      } else {
        stats.mapped++;
        deps.metrics?.mapped(mapped.contentType);
        collect(mapped.events, m);
        if (mapped.backfill && deps.backfill) {
          // Publish what came before (the group.created included), but commit
          // only up to the record before this one: it is not done until its
          // members are out.
          if (!(await flush())) return;
          const members = await runBackfill(mapped.backfill, { topic, partition, keepGoing, beat });
          if (!members.ok) return;
          collect(members.value, m);
        } else if (mapped.backfill) {
          stats.backfillsSkipped++;
          logger.warn(
            { groupID: mapped.groupID, partition, offset: m.offset },
            'group created; OPENIM_API_URL is unset, so only the members the notification lists (the owner) are published',
          );
        }
      }
      collectedUpTo = m.offset;
      if (++sinceFlush >= sliceSize) {
        sinceFlush = 0;
        if (!(await flush())) return;
      }
    }
    await flush();
  }

  async function runBackfill(
    req: BackfillRequest,
    ctx: { topic: string; partition: number; keepGoing: () => boolean; beat: () => Promise<void> },
  ) {
    let holding = false;
    const result = await holdUntil(() => deps.backfill!(req), {
      shouldGoOn: ctx.keepGoing,
      minDelayMs: config.OPENIM_BACKOFF_MIN_MS,
      maxDelayMs: config.OPENIM_BACKOFF_MAX_MS,
      onRetry: async (err, attempt, delayMs) => {
        if (!holding) stats.holds++;
        holding = true;
        deps.metrics?.held(ctx.topic, ctx.partition, 'openim_api');
        logger.warn(
          { err: (err as Error).message, attempt, delayMs, groupID: req.groupID, partition: ctx.partition },
          'OpenIM API unavailable for the 1501 backfill; holding the partition (its later records wait)',
        );
        await ctx.beat();
      },
    });
    if (holding) {
      deps.metrics?.held(ctx.topic, ctx.partition, null);
      if (result.ok) logger.info({ groupID: req.groupID, partition: ctx.partition }, 'OpenIM API answered; the partition moves on');
    }
    if (result.ok) stats.backfills++;
    return result;
  }

  return {
    stats,
    crashed,
    async start() {
      await producer.connect();
      await consumer.connect();
      // A new consumer group starts at the end of OpenIM's topic by default
      // (what is already there is the import's job, README "handover"); a
      // group with committed offsets resumes there.
      await consumer.subscribe({ topic: config.OPENIM_TOPIC, fromBeginning: config.OPENIM_FROM_BEGINNING });
      await consumer.run({
        eachBatchAutoResolve: false,
        autoCommitInterval: 5000,
        eachBatch: handleBatch,
      });
      logger.info(
        { topic: config.OPENIM_TOPIC, group: config.OPENIM_CONSUMER_GROUP, to: config.EVENTS_TOPIC, backfill: Boolean(deps.backfill) },
        'openim bridge running',
      );
    },
    async stop() {
      stopping = true;
      await consumer.stop();
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    },
  };
}
