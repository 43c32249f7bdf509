import { decodeEvent } from '@imgroups/contracts';
import type { Config } from '@imgroups/config';
import { OUTCOMES, ReadModel, type Outcome, type PositionedEvent } from '@imgroups/read-model';
import type { RedisClient } from '@imgroups/read-model';
import { Partitioners, type Consumer, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { deadLetter, type DeadLetter } from './dead-letter.js';
import type { ProjectorMetrics } from './metrics.js';
import { retryUntil } from './retry.js';

export type ProjectorConfig = Pick<
  Config,
  | 'REDIS_KEY_PREFIX'
  | 'EVENTS_TOPIC'
  | 'DLQ_TOPIC'
  | 'CONSUMER_GROUP'
  | 'MAX_EVENT_BYTES'
  | 'DEDUPE_WINDOW'
  | 'SEQ_TOMBSTONES'
  | 'SYNC_LOG_MAX'
  | 'REDIS_WAIT_REPLICAS'
  | 'REDIS_WAIT_TIMEOUT_MS'
  | 'KAFKA_SESSION_TIMEOUT_MS'
  | 'KAFKA_HEARTBEAT_INTERVAL_MS'
  | 'KAFKA_RETRIES'
  | 'KAFKA_REBALANCE_TIMEOUT_MS'
  | 'KAFKA_PARTITIONS_CONCURRENTLY'
  | 'SHUTDOWN_TIMEOUT_MS'
>;

export interface ProjectorDeps {
  config: ProjectorConfig;
  redis: RedisClient;
  kafka: Kafka;
  logger: Logger;
  /** Messages per slice: decode, dead-letter, apply, then resolve. */
  sliceSize?: number;
  /**
   * Where events are applied. null (the live projector, default): whatever
   * `<root>:active` names when each chunk runs (read before the chunk, and
   * checked again by its checkpoint call, which sends a chunk that raced the
   * switch to the new generation too: apply.ts), so a rebuild's switch takes
   * effect at the next chunk with no signal or restart. A generation: that one (a rebuild, or verify's scratch replay).
   */
  generation?: number | string | null;
  /** Consumer group (default CONSUMER_GROUP); a replay reads under its own. */
  groupId?: string;
  /**
   * 'send' (default): bad events go to the DLQ before their offset is
   * committed. 'count': counted in stats.deadLettered only, for replays,
   * which meet the bad events the live projector has already dead-lettered.
   */
  deadLetters?: 'send' | 'count';
  /** Prometheus metrics (metrics.ts), recorded per batch and per applied slice. */
  metrics?: ProjectorMetrics;
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
  const target = deps.generation ?? null;
  const groupId = deps.groupId ?? config.CONSUMER_GROUP;
  const sendsDeadLetters = (deps.deadLetters ?? 'send') === 'send';
  const readModel = new ReadModel(redis, {
    root: config.REDIS_KEY_PREFIX,
    dedupeWindow: config.DEDUPE_WINDOW,
    seqTombstones: config.SEQ_TOMBSTONES,
    syncLogMax: config.SYNC_LOG_MAX,
    // Nothing acknowledged is lost in a failover: a chunk's writes reach the
    // replicas before its offsets are resolved (and so committed).
    waitReplicas: config.REDIS_WAIT_REPLICAS,
    waitTimeoutMs: config.REDIS_WAIT_TIMEOUT_MS,
  });
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
    groupId,
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
    // How long a rebalance waits for members to rejoin; a member that crashed
    // holds up every rebalance this long. Above the longest batch, below forever.
    rebalanceTimeout: config.KAFKA_REBALANCE_TIMEOUT_MS,
    // An idle fetch returns after 1 s (kafkajs: 5 s): a resumed partition, a
    // stop or a rebalance waits at most that long for the fetch in flight.
    maxWaitTimeInMs: 1000,
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
      if (letters.length > 0 && sendsDeadLetters) {
        if (!(await sendDeadLetters(letters, letterKeys, keepGoing))) return;
        for (const l of letters) logger.warn({ partition: l.partition, offset: l.offset, kind: l.kind, reason: l.reason }, 'event dead-lettered');
      }
      stats.deadLettered += letters.length;
      const last = slice[slice.length - 1]!.offset;
      const applied = await retryUntil(() => readModel.apply(target, batch.partition, events, last), {
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
      deps.metrics?.recordApplied(events, applied.value);
      stats.messages += slice.length;
      resolveOffset(last);
      crashesInARow = 0;
      await heartbeat();
    }
  }

  /**
   * On every assignment, start each partition just after the read model's own
   * checkpoint (the last offset it applied, written atomically with the
   * events) when that is ahead of the group's committed offset. The read model
   * is the source of truth for its position: lost or expired consumer-group
   * offsets, or a new group name, mean no replay, and redeliveries after a
   * crash are skipped before they are fetched twice. Batches fetched before
   * the seek are flagged stale and abandoned (handleBatch).
   */
  async function resumeFromCheckpoints(assignment: Record<string, number[]>) {
    const partitions = assignment[config.EVENTS_TOPIC] ?? [];
    if (partitions.length === 0 || stopping) return;
    // Paused synchronously, inside the GROUP_JOIN event, so no fetch runs
    // from the committed offsets before the seek below lands.
    const paused = [{ topic: config.EVENTS_TOPIC, partitions }];
    try {
      consumer.pause(paused);
      const gen = target ?? (await readModel.generations.active());
      if (gen === null || stopping) return;
      const checkpoints = await readModel.checkpoints(gen);
      if (stopping) return;
      for (const partition of partitions) {
        const applied = checkpoints[String(partition)];
        if (applied !== undefined) {
          consumer.seek({ topic: config.EVENTS_TOPIC, partition, offset: (BigInt(applied) + 1n).toString() });
        }
      }
      logger.info({ partitions, checkpoints }, 'resuming after the read model checkpoints');
    } catch (err) {
      // Not fatal: the committed offsets are safe too, only slower (redeliveries are no-ops).
      logger.warn({ err: (err as Error).message }, 'could not resume from checkpoints; resuming from committed offsets');
    } finally {
      // The consumer may have stopped or restarted meanwhile; then there is nothing to resume.
      try {
        if (!stopping) consumer.resume(paused);
      } catch {
        /* a restarted consumer starts unpaused */
      }
    }
  }


  return {
    stats,
    crashed,
    async start() {
      // The live projector writes to whichever generation is active when each
      // chunk runs (apply.ts), so it follows a rebuild's switch.
      const generation = target ?? (await readModel.generations.ensureActive());
      if (sendsDeadLetters) await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: config.EVENTS_TOPIC, fromBeginning: true });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => void resumeFromCheckpoints(payload.memberAssignment));
      await consumer.run({
        eachBatchAutoResolve: false,
        // Batches of different partitions run side by side, so Node decodes
        // one while Redis runs another's apply script; a partition's batches
        // still come one at a time, in order, which is all the guards need.
        partitionsConsumedConcurrently: config.KAFKA_PARTITIONS_CONCURRENTLY,
        // Resolved (= applied) offsets are committed after every batch and every 5 s within long ones.
        autoCommitInterval: 5000,
        eachBatch: deps.metrics ? (payload) => deps.metrics!.observeBatch(payload, handleBatch) : handleBatch,
      });
      logger.info({ topic: config.EVENTS_TOPIC, group: groupId, generation }, target === null ? 'projector running' : 'replay running');
    },
    async stop() {
      stopping = true;
      await consumer.stop();
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    },
  };
}
