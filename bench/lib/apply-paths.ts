import { readFileSync } from 'node:fs';
import type { Config } from '@imgroups/config';
import { decodeEvent } from '@imgroups/contracts';
import { LuaScript, OUTCOMES, type Outcome, type PositionedEvent, type ReadModel, type RedisClient } from '@imgroups/read-model';
import type { BaselineRow, Message } from './history.js';
import { addCalls, settleReplication, snapshot, type Topology } from './apply-redis.js';

/**
 * bench:apply's paths and how they are timed. A path applies slices (the
 * projector's 500 messages) partition by partition; `timed` adds its wall
 * time, Node CPU, the masters' and replicas' CPU and the commands Redis ran
 * (INFO commandstats, every master) to its Meter.
 */

export const SLICE = 500; // the projector's slice: what one ReadModel.apply call gets

export interface Meter {
  wallMs: number;
  nodeCpuMs: number;
  /** used_cpu_user + sys, summed over the masters (the one server, single-node). */
  redisCpuMs: number;
  replicasCpuMs: number;
  /** Commands run, by name (scripts' redis.call included), summed over the masters. */
  calls: Map<string, number>;
}
export const meter = (): Meter => ({ wallMs: 0, nodeCpuMs: 0, redisCpuMs: 0, replicasCpuMs: 0, calls: new Map() });

export async function timed(t: Topology, m: Meter, work: () => Promise<void>): Promise<void> {
  await settleReplication(t);
  const s0 = await snapshot(t);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  m.wallMs += performance.now() - t0;
  const c = process.cpuUsage(c0);
  m.nodeCpuMs += (c.user + c.system) / 1000;
  await settleReplication(t); // the replicas' share of this path, in this window
  const s1 = await snapshot(t);
  m.redisCpuMs += s1.mastersCpuMs - s0.mastersCpuMs;
  m.replicasCpuMs += s1.replicasCpuMs - s0.replicasCpuMs;
  addCalls(m.calls, s0.calls, s1.calls);
}

/** Per partition, its slices of 500 in offset order, as kafkajs batches would hand them over. */
export function slicesByPartition<T extends { partition: number }>(items: T[], partitions: number): T[][][] {
  const byPartition: T[][] = Array.from({ length: partitions }, () => []);
  for (const it of items) byPartition[it.partition]!.push(it);
  return byPartition.map((list) => {
    const slices: T[][] = [];
    for (let i = 0; i < list.length; i += SLICE) slices.push(list.slice(i, i + SLICE));
    return slices;
  });
}

/**
 * kafkajs's partitionsConsumedConcurrently: `concurrency` partitions in
 * flight, each taking its slices in order; a free slot takes the next partition.
 */
export async function eachPartition<T>(partitions: T[][][], concurrency: number, apply: (slice: T[]) => Promise<void>): Promise<void> {
  let next = 0;
  const slot = async () => {
    while (next < partitions.length) {
      for (const slice of partitions[next++]!) await apply(slice);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, partitions.length) }, slot));
}

/** What the measured path saw: outcomes, dead letters, decode time (wall). */
export interface MeasuredTally {
  outcomes: Record<Outcome, number>;
  deadLettered: number;
  decodeMs: number;
}
export const tally = (): MeasuredTally => ({
  outcomes: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>,
  deadLettered: 0,
  decodeMs: 0,
});

/**
 * The measured path: the projector's handleBatch without Kafka. decodeEvent
 * (JSON + zod) and the key check, then ReadModel.apply (following the active
 * generation, with the slice's last offset as the checkpoint).
 */
export function measuredSlice(config: Config, readModel: ReadModel, t: MeasuredTally): (slice: Message[]) => Promise<void> {
  return async (slice) => {
    const events: PositionedEvent[] = [];
    const d0 = performance.now();
    for (const m of slice) {
      const decoded = decodeEvent(m.value, config.MAX_EVENT_BYTES);
      if (!decoded.ok) t.deadLettered++;
      else if (m.key.toString('utf8') !== decoded.event.groupID) t.deadLettered++;
      else events.push({ offset: m.offset, event: decoded.event });
    }
    t.decodeMs += performance.now() - d0;
    const last = slice[slice.length - 1]!;
    for (const o of await readModel.apply(null, last.partition, events, last.offset)) t.outcomes[o]++;
  };
}

export type Row = BaselineRow & { partition: number };

/** The ceilings' keys, as bare-write.lua spells them: one hash tag each, so legal on a Cluster. */
const userSet = (root: string, r: BaselineRow) => `${root}:{u:${r.userID}}:joined`;
const groupHash = (root: string, r: BaselineRow) => `${root}:{g:${r.groupID}}:info`;

/**
 * Ceiling `lua`, single-node only: one bare Lua call per slice doing ZADD +
 * HSET + HINCRBY per event. It writes keys it does not declare (KEYS is
 * empty), which one Redis allows and a Cluster does not.
 */
export const BARE_SCRIPT = new LuaScript('bare-write', readFileSync(new URL('../lua/bare-write.lua', import.meta.url), 'utf8'));
export function luaCeilingSlice(redis: RedisClient, root: string): (slice: Row[]) => Promise<void> {
  return async (slice) => {
    const argv: string[] = [root];
    for (const r of slice) argv.push(r.groupID, r.userID, r.score, r.field);
    await BARE_SCRIPT.run(redis, [], argv);
  };
}

/**
 * Ceiling `commands`, legal on both: the same three writes per event as
 * plain commands, every command of the slice issued at once (ioredis writes
 * them without waiting for replies; on a Cluster each goes to its key's
 * node), then awaited together.
 */
export function commandsCeilingSlice(redis: RedisClient, root: string): (slice: Row[]) => Promise<void> {
  return async (slice) => {
    const sent: Promise<unknown>[] = [];
    for (const r of slice) {
      const hash = groupHash(root, r);
      sent.push(redis.zadd(userSet(root, r), r.score, r.groupID), redis.hset(hash, r.field, r.score), redis.hincrby(hash, 'n', 1));
    }
    await Promise.all(sent);
  };
}
