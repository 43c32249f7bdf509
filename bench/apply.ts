/**
 * `pnpm bench:apply`: the projector's apply path against a ceiling legal on
 * the same Redis, on one redis-server and on a Redis Cluster, in one run.
 *
 *   pnpm bench:apply [--redis single|cluster|both] [--events 1000000] [--groups 50000]
 *                    [--users 200000] [--rounds 10] [--partitions 12]
 *                    [--concurrency KAFKA_PARTITIONS_CONCURRENTLY]
 *
 * Builds one stream of realistic events (lib/history.ts), serialized as Kafka
 * delivers them; then per topology (default both: single-node first, then
 * Cluster, the same stream) starts its own Redis (lib/apply-redis.ts: a
 * redis-server, or 3 masters + 3 replicas, free ports, no Docker) and runs,
 * round by round (each round a tenth of the stream, the paths' order rotated
 * every round so that a noisy neighbour hurts all alike):
 *
 *   measured          the projector's handleBatch without Kafka: per partition,
 *                     slices of 500 messages: decodeEvent (JSON + zod) and the
 *                     key check, then ReadModel.apply (per chunk: a call per
 *                     group, a call per user, the fanout DELs, the checkpoint)
 *   measured+wait     Cluster only: the same into a second read model (its own
 *                     key root) with waitReplicas 1, as the projector runs on a
 *                     Cluster by default (REDIS_WAIT_REPLICAS): WAIT per chunk
 *   ceiling=lua       single-node only: one bare Lua call per slice doing
 *                     ZADD + HSET + HINCRBY per event (bench/lua/bare-write.lua;
 *                     its keys undeclared, which a Cluster refuses)
 *   ceiling=commands  both: the same 3 writes per event as plain commands,
 *                     every command of a slice sent at once (on a Cluster
 *                     ioredis sends each to its key's node), then awaited
 *
 * All paths take the partitions as the projector's kafkajs consumer does with
 * partitionsConsumedConcurrently = `--concurrency` (default: the product's
 * KAFKA_PARTITIONS_CONCURRENTLY), over the one client.
 *
 * Per path: wall time, Node CPU, Redis CPU (INFO cpu, summed over the masters;
 * the replicas' apart) and the commands Redis ran (INFO commandstats, summed
 * over the masters; commands run inside scripts count too). Then the read
 * model's memory: used_memory summed over the masters (less replication
 * buffers) after the measured path, every other path's keys deleted, minus
 * before, over the memberships (the sum of every user's joined-set size).
 */
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '@imgroups/config';
import { ReadModel, SCRIPTS } from '@imgroups/read-model';
import { buildStream, type Message, type Stream } from './lib/history.js';
import { fmt, fmtInt } from './lib/stats.js';
import { preloadScripts, settleReplication, startTopology, usedMemory, type TopologyName } from './lib/apply-redis.js';
import {
  BARE_SCRIPT,
  commandsCeilingSlice,
  eachPartition,
  luaCeilingSlice,
  measuredSlice,
  meter,
  slicesByPartition,
  tally,
  timed,
  type Meter,
  type Row,
} from './lib/apply-paths.js';
import { deleteRoot, memoryByKind, sumZcard } from './lib/apply-memory.js';
import { applyLine, memoryLine, printMemoryByKind, printPaths } from './lib/apply-report.js';

const { values: args } = parseArgs({
  options: {
    redis: { type: 'string', default: 'both' },
    events: { type: 'string', default: '1000000' },
    groups: { type: 'string', default: '50000' },
    users: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '10' },
    partitions: { type: 'string', default: '12' },
    concurrency: { type: 'string' },
  },
});

const ROOT = 'rm'; // the measured read model
const WAIT_ROOT = 'rmw'; // the measured+wait variant's read model (Cluster)
const LUA_ROOT = 'bench-lua';
const CMD_ROOT = 'bench-cmd';
const log = (...xs: unknown[]) => console.error('[bench:apply]', ...xs);

interface Path {
  name: string;
  meter: Meter;
  /** One round's share of the stream, per partition, concurrency as the projector's. */
  run: (messages: Message[], rows: Row[]) => Promise<void>;
}

/** One topology's run: its figures printed, its closing lines returned. */
async function runTopology(name: TopologyName, stream: Stream, config: Config, concurrency: number): Promise<string[]> {
  const cluster = name === 'cluster';
  const t0 = performance.now();
  const t = await startTopology(name);
  try {
    log(`[${name}] ${t.describe}; started in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    const readModel = new ReadModel(t.redis, { root: ROOT, dedupeWindow: config.DEDUPE_WINDOW });
    // ensureActive: plain SETs of <root>:{<root>}:active and :epoch (one slot), so fine on a Cluster too.
    const generation = await readModel.generations.ensureActive();
    const measuredTally = tally();
    const waitTally = tally();
    const bySlices = <T extends { partition: number }>(items: T[], slice: (s: T[]) => Promise<void>) =>
      eachPartition(slicesByPartition(items, stream.partitions), concurrency, slice);
    const measuredApply = measuredSlice(config, readModel, measuredTally);
    const paths: Path[] = [{ name: 'measured', meter: meter(), run: (messages) => bySlices(messages, measuredApply) }];
    if (cluster) {
      const waitModel = new ReadModel(t.redis, {
        root: WAIT_ROOT,
        dedupeWindow: config.DEDUPE_WINDOW,
        waitReplicas: 1,
        waitTimeoutMs: config.REDIS_WAIT_TIMEOUT_MS,
      });
      await waitModel.generations.ensureActive();
      const waitApply = measuredSlice(config, waitModel, waitTally);
      paths.push({ name: 'measured+wait', meter: meter(), run: (messages) => bySlices(messages, waitApply) });
    } else {
      const lua = luaCeilingSlice(t.redis, LUA_ROOT);
      paths.push({ name: 'ceiling=lua', meter: meter(), run: (_, rows) => bySlices(rows, lua) });
    }
    const commands = commandsCeilingSlice(t.redis, CMD_ROOT);
    paths.push({ name: 'ceiling=commands', meter: meter(), run: (_, rows) => bySlices(rows, commands) });

    await preloadScripts(t, [SCRIPTS.apply.source, SCRIPTS.applyUser.source, SCRIPTS.checkpoint.source, BARE_SCRIPT.source]);
    await settleReplication(t);
    const memoryBefore = await usedMemory(t);
    const n = stream.messages.length;
    const rounds = Number(args.rounds);
    const per = Math.ceil(n / rounds);
    for (let r = 0; r < rounds; r++) {
      const messages = stream.messages.slice(r * per, (r + 1) * per);
      const rows = stream.baseline.slice(r * per, (r + 1) * per).map((row, i) => ({ ...row, partition: messages[i]!.partition }));
      const order = paths.map((_, i) => paths[(i + r) % paths.length]!);
      for (const p of order) await timed(t, p.meter, () => p.run(messages, rows));
      const done = Math.min(n, (r + 1) * per);
      log(`[${name}] round ${r + 1}/${rounds}: ${paths.map((p) => `${p.name} ${fmtInt((done * 1000) / p.meter.wallMs)}`).join(', ')} events/s so far`);
    }

    // Memory of the measured read model alone: every other path's keys go first.
    const m0 = performance.now();
    for (const root of [WAIT_ROOT, LUA_ROOT, CMD_ROOT]) await deleteRoot(t, root);
    await settleReplication(t);
    const memoryAfter = await usedMemory(t);
    const memberships = await sumZcard(t, `${ROOT}:${generation}:{u:*}:joined`);
    const memberSetTotal = await sumZcard(t, `${ROOT}:${generation}:{g:*}:members`);
    const byKind = await memoryByKind(t, `${ROOT}:${generation}:*`);
    log(`[${name}] memory figures taken in ${fmt((performance.now() - m0) / 1000, 1)} s (not measured)`);

    printPaths(name, paths, n, cluster);
    const outcomes = (o: typeof measuredTally.outcomes) =>
      Object.entries(o)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
    console.log(`measured: of the node time, decodeEvent (JSON.parse + zod) ${fmt((measuredTally.decodeMs * 1000) / n, 1)} us/event (wall)`);
    console.log(`outcomes: ${outcomes(measuredTally.outcomes)} dead_lettered=${measuredTally.deadLettered}`);
    if (cluster) console.log(`outcomes of measured+wait the same: ${outcomes(waitTally.outcomes) === outcomes(measuredTally.outcomes)}`);
    console.log(
      `memory: ${fmtInt(memberships)} memberships (member sets agree: ${memberSetTotal === memberships}), ` +
        `used_memory${cluster ? ' (masters summed, replication buffers excluded)' : ''} ${fmtInt(memoryBefore)} -> ${fmtInt(memoryAfter)} bytes`,
    );
    printMemoryByKind(byKind, memberships);

    const measured = paths[0]!.meter;
    const byName = (p: string) => paths.find((x) => x.name === p)!.meter;
    const lines: string[] = [];
    if (cluster) {
      lines.push(applyLine('cluster', measured, 'commands', byName('ceiling=commands'), n, true));
      lines.push(applyLine('cluster+wait', byName('measured+wait'), 'commands', byName('ceiling=commands'), n, true));
    } else {
      lines.push(applyLine('single', measured, 'lua', byName('ceiling=lua'), n, false));
      lines.push(applyLine('single', measured, 'commands', byName('ceiling=commands'), n, false));
    }
    lines.push(memoryLine(name, memoryAfter - memoryBefore, memberships, byKind));
    return lines;
  } finally {
    await t.stop();
  }
}

async function main() {
  const which = args.redis;
  if (which !== 'single' && which !== 'cluster' && which !== 'both') throw new Error(`--redis single|cluster|both, not ${which}`);
  const topologies: TopologyName[] = which === 'both' ? ['single', 'cluster'] : [which];
  const config = loadConfig({}); // the product's defaults: MAX_EVENT_BYTES, DEDUPE_WINDOW, REDIS_WAIT_TIMEOUT_MS
  const started = performance.now();
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
      `${stream.partitions} partitions; built in ${fmt((performance.now() - started) / 1000, 1)} s (not measured)`,
  );
  const concurrency = Number(args.concurrency ?? config.KAFKA_PARTITIONS_CONCURRENTLY);
  log(`partitions applied ${concurrency} at a time (KAFKA_PARTITIONS_CONCURRENTLY), every path`);

  const closing: string[] = [];
  for (const name of topologies) closing.push(...(await runTopology(name, stream, config, concurrency)));
  console.log('');
  for (const line of closing) console.log(line);
  log(`done in ${fmt((performance.now() - started) / 1000, 0)} s`);
}

await main();
