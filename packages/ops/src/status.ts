import type { Config } from '@imgroups/config';
import { Generations, parseLockHolder, type LockHolder, type RebuildRecord, type RedisClient } from '@imgroups/read-model';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { committedOffsets, highWatermarks, withTimeout } from './kafka-offsets.js';

/**
 * The read model's state for operators, computed in one place for
 * `pnpm status` and the query API's `GET /status`: the active generation and
 * its per-partition lag, the latest rebuild and its progress, generations
 * still being deleted. A handful of Redis reads and two Kafka admin calls,
 * each bounded in time; nothing here is on the query path.
 */

export interface PartitionRow {
  partition: number;
  /** Last offset applied in the generation (its checkpoint), null when none yet. */
  applied: number | null;
  /** The offset the next message will get (Kafka's high watermark); null when Kafka did not answer. */
  highWatermark: number | null;
  /** Messages not applied yet: highWatermark - (applied + 1). */
  lag: number | null;
  /** The consumer group's committed offset (next to read), when the broker reports it. */
  committed?: number | null;
}

export interface Status {
  root: string;
  topic: string;
  /** When this was computed (ms). */
  at: number;
  active: {
    generation: number | null;
    consumerGroup: string;
    /** Sum of the partitions' lag, null when Kafka did not answer. */
    lag: number | null;
    partitions: PartitionRow[];
  };
  /** The latest rebuild (running, switched, done), or null when none was ever run. */
  rebuild:
    | (RebuildRecord & {
        lock: { holder: LockHolder | null; expiresInMs: number } | null;
        /** Messages applied by the rebuild so far (sum of checkpoint + 1). */
        applied: number;
        /** Messages in the stream now (sum of high watermarks). */
        total: number | null;
        /** applied / total, 0..1. */
        progress: number | null;
        partitions: PartitionRow[];
      })
    | null;
  /** Generations whose keys are being deleted. */
  pendingDeletion: string[];
  /** Scratch generations of running verifies. */
  scratch: string[];
  kafka: { ok: true } | { ok: false; error: string };
  /** Why `committed` is missing, when it is (the mock broker cannot report committed offsets). */
  committedUnavailable?: string;
}

export interface StatusSource {
  redis: RedisClient;
  root: string;
  topic: string;
  consumerGroup: string;
  /** Kafka admin client, connected; none: Redis-side figures only. */
  admin?: () => Promise<Admin>;
  /** Bound on each Kafka call (default 3000 ms). */
  timeoutMs?: number;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

function rows(
  checkpoints: Map<number, number>,
  hw: Map<number, number> | null,
  committed?: Map<number, number | null> | null,
): PartitionRow[] {
  const partitions = [...new Set([...checkpoints.keys(), ...(hw?.keys() ?? [])])].sort((a, b) => a - b);
  return partitions.map((partition) => {
    const applied = checkpoints.get(partition) ?? null;
    const high = hw?.get(partition) ?? null;
    const row: PartitionRow = {
      partition,
      applied,
      highWatermark: high,
      lag: high === null ? null : Math.max(0, high - ((applied ?? -1) + 1)),
    };
    if (committed !== undefined) row.committed = committed?.get(partition) ?? null;
    return row;
  });
}

/** Unknown unless Kafka told us every partition's high watermark. */
const sumLag = (r: PartitionRow[], hw: Map<number, number> | null) =>
  hw === null || r.some((x) => x.lag === null) ? null : r.reduce((n, x) => n + (x.lag ?? 0), 0);

export async function readStatus(source: StatusSource): Promise<Status> {
  const { redis, root, topic, consumerGroup } = source;
  const timeoutMs = source.timeoutMs ?? 3000;
  const gens = new Generations(redis, root);
  const [active, record, lockRaw, lockTtl, pendingDeletion, scratch] = await Promise.all([
    gens.active(),
    gens.rebuildRecord(),
    redis.get(gens.keys.rebuildLock),
    redis.pttl(gens.keys.rebuildLock),
    gens.retired(),
    gens.scratchGenerations(),
  ]);
  const [activeCkpt, rebuildCkpt] = await Promise.all([
    active === null ? new Map<number, number>() : gens.checkpoints(active),
    record ? gens.checkpoints(record.generation) : new Map<number, number>(),
  ]);

  let kafka: Status['kafka'] = { ok: true };
  let hw: Map<number, number> | null = null;
  let committed: Map<number, number | null> | null = null;
  let committedUnavailable: string | undefined;
  if (!source.admin) {
    kafka = { ok: false, error: 'no Kafka client configured' };
  } else {
    try {
      const admin = await withTimeout(source.admin(), timeoutMs, 'kafka connect');
      const [h, c] = await Promise.allSettled([
        withTimeout(highWatermarks(admin, topic), timeoutMs, 'high watermarks'),
        withTimeout(committedOffsets(admin, consumerGroup, topic), timeoutMs, 'committed offsets'),
      ]);
      if (h.status === 'fulfilled') hw = h.value;
      else kafka = { ok: false, error: errorText(h.reason) };
      if (c.status === 'fulfilled') committed = c.value;
      else committedUnavailable = errorText(c.reason);
    } catch (err) {
      kafka = { ok: false, error: errorText(err) };
    }
  }

  const activeRows = rows(activeCkpt, hw, committed);
  let rebuild: Status['rebuild'] = null;
  if (record) {
    const rebuildRows = record.status === 'running' ? rows(rebuildCkpt, hw) : [];
    const applied = [...rebuildCkpt.values()].reduce((n, o) => n + o + 1, 0);
    const total = hw ? [...hw.values()].reduce((n, o) => n + o, 0) : null;
    rebuild = {
      ...record,
      lock: lockRaw === null ? null : { holder: parseLockHolder(lockRaw), expiresInMs: Math.max(0, lockTtl) },
      applied,
      total,
      progress: record.status !== 'running' ? 1 : total === null ? null : total === 0 ? 1 : Math.min(1, applied / total),
      partitions: rebuildRows,
    };
  }
  const status: Status = {
    root,
    topic,
    at: Date.now(),
    active: { generation: active, consumerGroup, lag: sumLag(activeRows, hw), partitions: activeRows },
    rebuild,
    pendingDeletion,
    scratch,
    kafka,
  };
  if (committedUnavailable !== undefined) status.committedUnavailable = committedUnavailable;
  return status;
}

export type StatusConfig = Pick<Config, 'REDIS_KEY_PREFIX' | 'EVENTS_TOPIC' | 'CONSUMER_GROUP' | 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>;

export interface StatusReader {
  read(): Promise<Status>;
  close(): Promise<void>;
}

/**
 * A status reader with its own Kafka admin client, connected on first use
 * and kept (a status poll every few seconds must not open a connection each
 * time); a failed connection is retried on the next read.
 */
export function createStatusReader(opts: { redis: RedisClient; config: StatusConfig; kafka?: Kafka; timeoutMs?: number }): StatusReader {
  const { config } = opts;
  const kafka =
    opts.kafka ??
    new Kafka({
      clientId: `${config.KAFKA_CLIENT_ID}-status`,
      brokers: config.KAFKA_BROKERS,
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 200 },
      connectionTimeout: opts.timeoutMs ?? 3000,
    });
  let admin: Promise<Admin> | undefined;
  const connect = () => {
    admin ??= (async () => {
      const a = kafka.admin();
      try {
        await a.connect();
        return a;
      } catch (err) {
        admin = undefined;
        await a.disconnect().catch(() => {});
        throw err;
      }
    })();
    return admin;
  };
  return {
    read: () =>
      readStatus({
        redis: opts.redis,
        root: config.REDIS_KEY_PREFIX,
        topic: config.EVENTS_TOPIC,
        consumerGroup: config.CONSUMER_GROUP,
        admin: connect,
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      }),
    async close() {
      const a = admin;
      admin = undefined;
      if (a) await (await a.catch(() => undefined))?.disconnect();
    },
  };
}

// ---------------------------------------------------------------------------
// For people: `pnpm status`

const n = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toLocaleString('en-US'));
const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

function table(partitions: PartitionRow[], withCommitted: boolean): string[] {
  const head = ['partition', 'applied', 'high watermark', 'lag', ...(withCommitted ? ['committed'] : [])];
  const body = partitions.map((r) => [
    String(r.partition),
    n(r.applied),
    n(r.highWatermark),
    n(r.lag),
    ...(withCommitted ? [r.committed === undefined ? 'unavailable' : n(r.committed)] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cells) => `    ${cells.map((c, i) => c.padStart(widths[i]!)).join('  ')}`);
}

export function formatStatus(s: Status): string {
  const out: string[] = [];
  out.push(`read model "${s.root}", topic ${s.topic}, at ${time(s.at)}`);
  if (!s.kafka.ok) out.push(`  kafka: ${s.kafka.error} (high watermarks and lag unknown)`);
  out.push(
    s.active.generation === null
      ? '  active generation: none (the projector creates generation 1 when it starts)'
      : `  active generation: ${s.active.generation}, lag ${n(s.active.lag)} messages (consumer group ${s.active.consumerGroup})`,
  );
  if (s.active.partitions.length > 0) out.push(...table(s.active.partitions, true));
  if (s.committedUnavailable) out.push(`    committed offsets unavailable: ${s.committedUnavailable}`);
  const r = s.rebuild;
  if (!r) out.push('  rebuild: none yet');
  else {
    out.push(`  rebuild: generation ${r.generation} ${r.status}, started ${time(r.startedAt)} (consumer group ${r.consumerGroup})`);
    if (r.status === 'running') {
      const pct = r.progress === null ? '?' : `${(r.progress * 100).toFixed(1)}%`;
      out.push(`    ${n(r.applied)} of ${n(r.total)} messages applied (${pct})`);
      out.push(
        r.lock
          ? `    lock held by ${r.lock.holder ? `${r.lock.holder.host} pid ${r.lock.holder.pid} since ${time(r.lock.holder.startedAt)}` : 'an unknown holder'}, expires in ${Math.ceil(r.lock.expiresInMs / 1000)} s unless refreshed`
          : '    no process holds the lock: interrupted; `pnpm run rebuild` resumes it, `pnpm run rebuild --fresh` starts over',
      );
      if (r.partitions.length > 0) out.push(...table(r.partitions, false));
    } else {
      out.push(
        `    switched ${time(r.switchedAt)} from generation ${n(r.previous)}; replay ${n(r.eventsPerSecond)} messages/s, ` +
          `switch ${n(r.switchMs)} ms (script ${r.flipScriptMs ?? '-'} ms)` +
          (r.status === 'done' ? `, ${n(r.deletedKeys)} old keys deleted, finished ${time(r.finishedAt)}` : ', old generation being deleted'),
      );
    }
  }
  if (s.pendingDeletion.length > 0) out.push(`  generations being deleted: ${s.pendingDeletion.join(', ')}`);
  if (s.scratch.length > 0) out.push(`  verify replays running: ${s.scratch.join(', ')}`);
  return out.join('\n');
}
