/**
 * `pnpm bench:apply`: the projector's apply path against a bare Lua ceiling, in one run.
 *
 *   pnpm bench:apply [--events 1000000] [--groups 50000] [--users 200000] [--rounds 10]
 *                    [--partitions 12] [--concurrency KAFKA_PARTITIONS_CONCURRENTLY]
 *
 * Starts its own redis-server (free port, in memory) and builds a stream of
 * realistic events (lib/history.ts), serialized as Kafka delivers them. Then,
 * round by round (each round a tenth of the stream, the two paths alternating
 * which goes first so that a noisy neighbour hurts both alike):
 *
 *   measured  the projector's handleBatch without Kafka: per partition, slices
 *             of 500 messages: decodeEvent (JSON + zod) and the key check, then
 *             ReadModel.apply (evolve, one Lua call per slice with the guards,
 *             the dedupe window, the card's count and the checkpoint)
 *   baseline  the same events, same partitions and slices: one bare Lua call per
 *             500 events doing ZADD + HSET + HINCRBY per event, on the same Redis
 *
 * Both paths run partitions as the projector's kafkajs consumer does with
 * partitionsConsumedConcurrently = `--concurrency` (default: the product's
 * KAFKA_PARTITIONS_CONCURRENTLY): that many partitions at once over the one
 * Redis connection, each partition's slices one after another, in offset
 * order. So Node works on one partition's slice while Redis runs another's
 * script, as in the product.
 *
 * Then the read model's memory: used_memory after the measured path (the
 * baseline's keys deleted first) minus before, over the memberships (the sum of
 * every user's joined-set size).
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { loadConfig } from '@imgroups/config';
import { decodeEvent } from '@imgroups/contracts';
import { LuaScript, OUTCOMES, ReadModel, type Outcome, type PositionedEvent } from '@imgroups/read-model';
import { startRedisServer } from '@imgroups/devenv';
import { Redis } from 'ioredis';
import { buildStream, type BaselineRow, type Message } from './lib/history.js';
import { fmt, fmtInt } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    groups: { type: 'string', default: '50000' },
    users: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '10' },
    partitions: { type: 'string', default: '12' },
    concurrency: { type: 'string' },
  },
});

const ROOT = 'rm';
const BASE_ROOT = 'bench-baseline';
const SLICE = 500; // the projector's slice: one Lua call per 500 messages
const log = (...xs: unknown[]) => console.error('[bench:apply]', ...xs);

/** The ceiling: per event ZADD (user's set), HSET + HINCRBY (group's hash); nothing else. */
const BARE_SCRIPT = new LuaScript('bare-write', readFileSync(new URL('lua/bare-write.lua', import.meta.url), 'utf8'));

interface Meter {
  wallMs: number;
  nodeCpuMs: number;
  redisCpuMs: number;
}
const meter = (): Meter => ({ wallMs: 0, nodeCpuMs: 0, redisCpuMs: 0 });

async function redisCpuMs(redis: Redis): Promise<number> {
  const cpu = await redis.info('cpu');
  const sec = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(cpu)?.[1]);
  return (sec('used_cpu_user') + sec('used_cpu_sys')) * 1000;
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

async function timed(redis: Redis, m: Meter, work: () => Promise<void>) {
  const r0 = await redisCpuMs(redis);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  m.wallMs += performance.now() - t0;
  const c = process.cpuUsage(c0);
  m.nodeCpuMs += (c.user + c.system) / 1000;
  m.redisCpuMs += (await redisCpuMs(redis)) - r0;
}

/** Per partition, its slices of 500 in offset order, as kafkajs batches would hand them over. */
function slicesByPartition<T extends { partition: number }>(items: T[], partitions: number): T[][][] {
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
async function eachPartition<T>(partitions: T[][][], concurrency: number, apply: (slice: T[]) => Promise<void>) {
  let next = 0;
  const slot = async () => {
    while (next < partitions.length) {
      for (const slice of partitions[next++]!) await apply(slice);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, partitions.length) }, slot));
}

/** SCAN `pattern` and run `each` on every batch of keys. */
async function scanKeys(redis: Redis, pattern: string, each: (keys: string[]) => Promise<void>) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2000);
    cursor = next;
    if (keys.length) await each(keys);
  } while (cursor !== '0');
}

async function main() {
  const config = loadConfig({}); // the product's defaults: MAX_EVENT_BYTES, DEDUPE_WINDOW
  const redisServer = await startRedisServer();
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 }); // as the projector's main.ts
  try {
    log(`redis-server on ${redisServer.url} (its own, in memory)`);
    const t0 = performance.now();
    const stream = buildStream({
      events: Number(args.events),
      groups: Number(args.groups),
      users: Number(args.users),
      partitions: Number(args.partitions),
      seed: 7,
    });
    const n = stream.messages.length;
    log(
      `stream: ${fmtInt(n)} events (${fmt(stream.bytes / n, 0)} bytes each on average), ${args.groups} groups, ${args.users} users, ` +
        `${stream.partitions} partitions; built in ${fmt((performance.now() - t0) / 1000, 1)} s (not measured)`,
    );

    const readModel = new ReadModel(redis, { root: ROOT, dedupeWindow: config.DEDUPE_WINDOW });
    const generation = await readModel.generations.ensureActive();
    const memoryBefore = await usedMemory(redis);
    const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    let deadLettered = 0;
    let decodeMs = 0;

    const measured = meter();
    const baseline = meter();
    const concurrency = Number(args.concurrency ?? config.KAFKA_PARTITIONS_CONCURRENTLY);
    log(`partitions applied ${concurrency} at a time (KAFKA_PARTITIONS_CONCURRENTLY), both paths`);
    const applySlice = async (slice: Message[]) => {
      const events: PositionedEvent[] = [];
      const d0 = performance.now();
      for (const m of slice) {
        const decoded = decodeEvent(m.value, config.MAX_EVENT_BYTES);
        if (!decoded.ok) deadLettered++;
        else if (m.key.toString('utf8') !== decoded.event.groupID) deadLettered++;
        else events.push({ offset: m.offset, event: decoded.event });
      }
      decodeMs += performance.now() - d0;
      const last = slice[slice.length - 1]!;
      for (const o of await readModel.apply(null, last.partition, events, last.offset)) outcomes[o]++;
    };
    const bareSlice = async (slice: (BaselineRow & { partition: number })[]) => {
      const argv: string[] = [BASE_ROOT];
      for (const r of slice) argv.push(r.groupID, r.userID, r.score, r.field);
      await BARE_SCRIPT.run(redis, argv);
    };

    const rounds = Number(args.rounds);
    const per = Math.ceil(n / rounds);
    for (let r = 0; r < rounds; r++) {
      const messages = stream.messages.slice(r * per, (r + 1) * per);
      const rows = stream.baseline.slice(r * per, (r + 1) * per).map((row, i) => ({ ...row, partition: messages[i]!.partition }));
      const mine = () => timed(redis, measured, () => eachPartition(slicesByPartition(messages, stream.partitions), concurrency, applySlice));
      const bare = () => timed(redis, baseline, () => eachPartition(slicesByPartition(rows, stream.partitions), concurrency, bareSlice));
      if (r % 2 === 0) {
        await mine();
        await bare();
      } else {
        await bare();
        await mine();
      }
      log(`round ${r + 1}/${rounds}: ${fmtInt(((r + 1) * per * 1000) / measured.wallMs)} events/s measured, ${fmtInt(((r + 1) * per * 1000) / baseline.wallMs)} baseline, so far`);
    }

    // Memory of the read model alone: the baseline's keys go first.
    await scanKeys(redis, `${BASE_ROOT}:*`, async (keys) => void (await redis.del(...keys)));
    const memoryAfter = await usedMemory(redis);
    let memberships = 0;
    let memberSetTotal = 0;
    await scanKeys(redis, `${ROOT}:${generation}:{u:*}:joined`, async (keys) => {
      const pipe = redis.pipeline();
      for (const k of keys) pipe.zcard(k);
      for (const [, v] of (await pipe.exec())!) memberships += Number(v);
    });
    await scanKeys(redis, `${ROOT}:${generation}:{g:*}:members`, async (keys) => {
      const pipe = redis.pipeline();
      for (const k of keys) pipe.zcard(k);
      for (const [, v] of (await pipe.exec())!) memberSetTotal += Number(v);
    });

    // Where the bytes are: MEMORY USAGE of every key of the generation, by kind.
    const byKind = new Map<string, { keys: number; bytes: number }>();
    await scanKeys(redis, `${ROOT}:${generation}:*`, async (keys) => {
      const pipe = redis.pipeline();
      for (const k of keys) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
      const res = (await pipe.exec())!;
      keys.forEach((k, i) => {
        const kind = k.slice(k.lastIndexOf(':') + 1);
        const row = byKind.get(kind) ?? { keys: 0, bytes: 0 };
        row.keys++;
        row.bytes += Number(res[i]![1]);
        byKind.set(kind, row);
      });
    });

    const evps = (n * 1000) / measured.wallMs;
    const baseEvps = (n * 1000) / baseline.wallMs;
    const us = (ms: number) => fmt((ms * 1000) / n, 1);
    console.log(`path       events/s   wall s   node CPU us/event   redis CPU us/event`);
    for (const [name, m] of [['measured', measured], ['baseline', baseline]] as const) {
      console.log(
        `${name.padEnd(9)} ${fmtInt((n * 1000) / m.wallMs).padStart(9)} ${fmt(m.wallMs / 1000, 1).padStart(8)} ${us(m.nodeCpuMs).padStart(19)} ${us(m.redisCpuMs).padStart(20)}`,
      );
    }
    console.log(`measured: of the node time, decodeEvent (JSON.parse + zod) ${us(decodeMs)} us/event; the rest is evolve, JSON.stringify and ioredis`);
    console.log(`outcomes: ${OUTCOMES.filter((o) => outcomes[o] > 0).map((o) => `${o}=${outcomes[o]}`).join(' ')} dead_lettered=${deadLettered}`);
    console.log(
      `memory: ${fmtInt(memberships)} memberships (member sets agree: ${memberSetTotal === memberships}), ` +
        `used_memory ${fmtInt(memoryBefore)} -> ${fmtInt(memoryAfter)} bytes`,
    );
    console.log(`memory by key kind (MEMORY USAGE, bytes per membership):`);
    for (const [kind, row] of [...byKind.entries()].sort((a, b) => b[1].bytes - a[1].bytes)) {
      console.log(`  ${kind.padEnd(8)} ${fmtInt(row.keys).padStart(9)} keys ${fmtInt(row.bytes).padStart(13)} bytes ${fmt(row.bytes / memberships, 1).padStart(7)}`);
    }
    console.log(`apply: ratio=${fmt(evps / baseEvps)} events_per_s=${Math.round(evps)}`);
    // The SDK's sync logs are part of the read model, and of the figure.
    const logBytes = (kind: string) => Math.round((byKind.get(kind)?.bytes ?? 0) / memberships);
    console.log(
      `memory: bytes_per_membership=${Math.round((memoryAfter - memoryBefore) / memberships)} ` +
        `(version logs included: jlog ${logBytes('jlog')}, mlog ${logBytes('mlog')})`,
    );
  } finally {
    redis.disconnect();
    await redisServer.stop();
  }
}

await main();
