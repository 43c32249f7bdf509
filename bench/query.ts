/**
 * `pnpm bench:query`: the query path against its own ceilings, in one run.
 *
 *   pnpm bench:query [--redis single|cluster|both] [--duration 10] [--warmup 2] [--connections 100] [--rounds 2]
 *                    [--runner process|inproc] [--groups 100000] [--users10 10000] [--users1k 100]
 *                    [--profile]   CPU-profile the servers during (a) and (b) only, print where the time goes
 *                    [--only ceiling,page10]  run only the scenarios whose names contain one of these
 *                    [--api-entry <file.js>]  start the query API from another entry (an A/B of a change)
 *                    [--api-env KEY=VALUE]...  configuration for the query APIs (an A/B of a setting)
 *
 * Builds the workload's events once (lib/workload.ts), then per topology
 * (default both, single-node first, then Cluster; lib/apply-redis.ts: its own
 * redis-server, or a local Cluster of 3 masters + 3 replicas, free ports, in
 * memory) loads them through the real apply path, starts the query API from
 * its compiled JS (NODE_ENV=production, LOG_LEVEL=warn; REDIS_URL, or
 * REDIS_CLUSTER_NODES on the Cluster) and the bench server (lib/server.ts:
 * same Fastify options, the static ceiling and the upstream baseline) as
 * processes of their own (lib/query-targets.ts), then runs autocannon
 * against each (lib/query-rounds.ts):
 *
 *   (a)  ceiling      bare route, static body of a 10-group page's size (+ a4k4: 4.4 KB)
 *   (b)  page10       get_joined_group_list, page 1 of 10, random users in 10 groups
 *        page10-uncached  the same against a second query API with its page cache off
 *   (c)  page100      page of 100, random page of random users in 1,000 groups
 *   (d)  100k-first   the user in 100,000 groups, page 1 of 10        } against the API with its cache
 *        100k-last    the same user, page 10,000 (the last)             } off: they measure the read
 *        10-fixed     one user in 10 groups, page 1, every request      } path (flatness: 100k-last p50 / this p50)
 *   (e)  upstream     the same request as 100k-first, upstream's way (whole ID list as one JSON string)
 *
 * On a Cluster the query API keeps no page cache (docs/redis-cluster.md): there
 * page10 reads every page from Redis, as page10-uncached does.
 * Closing lines (lib/query-report.ts), per topology, after all of them.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@imgroups/config';
import { REPO_ROOT } from '@imgroups/devenv';
import { SCRIPTS } from '@imgroups/read-model';
import { preloadScripts, settleReplication, startTopology, usedMemory, type TopologyName } from './lib/apply-redis.js';
import type { Runner } from './lib/cannon.js';
import { mainThreadProfile, summarizeProfile } from './lib/profile.js';
import { crossLine, queryLines } from './lib/query-report.js';
import { runQueryScenarios, type QueryRun } from './lib/query-rounds.js';
import { ROOT, startQueryTargets } from './lib/query-targets.js';
import { fmt, fmtInt } from './lib/stats.js';
import { buildQueryWorkload, loadQueryWorkload, type QueryWorkload } from './lib/workload.js';

const { values: args } = parseArgs({
  options: {
    redis: { type: 'string', default: 'both' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '100' },
    runner: { type: 'string', default: 'process' },
    groups: { type: 'string', default: '100000' },
    users10: { type: 'string', default: '10000' },
    users1k: { type: 'string', default: '100' },
    profile: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '2' },
    only: { type: 'string' },
    'api-entry': { type: 'string', default: join(REPO_ROOT, 'services/query-api/dist/main.js') },
    'api-env': { type: 'string', multiple: true, default: [] },
  },
});
const runner = args.runner as Runner;
if (runner !== 'process' && runner !== 'inproc') throw new Error(`--runner must be process or inproc, not ${args.runner}`);
const which = args.redis;
if (which !== 'single' && which !== 'cluster' && which !== 'both') throw new Error(`--redis single|cluster|both, not ${which}`);
const topologies: TopologyName[] = which === 'both' ? ['single', 'cluster'] : [which];
// The services get the topology's REDIS_URL / REDIS_CLUSTER_NODES; one inherited from the shell must not override them.
delete process.env.REDIS_CLUSTER_NODES;

const log = (...xs: unknown[]) => console.error('[bench:query]', ...xs);
const cleanups: (() => Promise<unknown>)[] = [];
async function unwind(to = 0) {
  while (cleanups.length > to) await cleanups.pop()!().catch(() => {});
}
process.once('SIGINT', () => void unwind().then(() => process.exit(130)));
const mb = (bytes: number) => `${fmt(bytes / 1024 ** 2, 1)} MB`;

/** One topology: its Redis, the workload loaded into it, the targets, the rounds; its closing lines. */
async function runTopology(name: TopologyName, workload: QueryWorkload, tmp: string): Promise<{ run: QueryRun; lines: string[] }> {
  const mark = cleanups.length;
  try {
    const t0 = performance.now();
    const t = await startTopology(name);
    cleanups.push(() => t.stop());
    log(`[${name}] ${t.describe}; started in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    // As bench:apply: the scripts on every master first, so no path pays a node's NOSCRIPT.
    await preloadScripts(t, Object.values(SCRIPTS).map((s) => s.source));
    const memoryBefore = await usedMemory(t);
    const loaded = await loadQueryWorkload(t.redis, workload, { root: ROOT, dedupeWindow: loadConfig({}).DEDUPE_WINDOW });
    await settleReplication(t);
    log(
      `[${name}] workload loaded through ReadModel.apply in ${fmt(loaded.loadSeconds, 1)} s; ` +
        `redis used_memory${t.masters.length > 1 ? ' (masters summed)' : ''} ${mb(memoryBefore)} -> ${mb(await usedMemory(t))}`,
    );

    const targets = await startQueryTargets({
      topology: t,
      workload,
      generation: loaded.generation,
      apiEntry: args['api-entry'],
      apiEnv: args['api-env'],
      dir: join(tmp, name),
      profile: args.profile,
    });
    cleanups.push(() => targets.stop());
    log(`[${name}] ${targets.describe}`);
    if (name === 'cluster') log(`[${name}] page cache off on a Cluster (by design): (b) page10 reads every page from Redis, as page10-uncached`);

    const run = await runQueryScenarios(t, targets, {
      connections: Number(args.connections),
      durationS: Number(args.duration),
      warmupS: Number(args.warmup),
      rounds: Number(args.rounds),
      runner,
      profile: args.profile,
      only: args.only?.split(','),
    });
    if (args.profile) {
      await targets.stop();
      for (const [what, dir] of [
        ['query API over (b)', join(tmp, name, 'profiles', 'api')],
        ['bench server over (a)', join(tmp, name, 'profiles', 'server')],
      ] as const) {
        const file = mainThreadProfile(dir);
        console.log(`\n--- [${name}] CPU profile: ${what} (the process's life, idle left out: mostly (a) or (b)) ---`);
        console.log(file ? summarizeProfile(file) : '(no profile written)');
      }
    }
    return { run, lines: run.complete ? queryLines(name, run, Buffer.byteLength(targets.samplePage)) : [] };
  } finally {
    await unwind(mark);
  }
}

async function main() {
  const started = performance.now();
  const tmp = mkdtempSync(join(tmpdir(), 'bench-query-'));
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));

  const workload = buildQueryWorkload({
    groups: Number(args.groups),
    users10: Number(args.users10),
    users1k: Number(args.users1k),
    seed: 20_240_611,
  });
  log(
    `workload: ${fmtInt(workload.groups)} groups, ${fmtInt(workload.users10.length)} users in 10, ` +
      `${workload.users1k.length} in 1,000, 1 in ${fmtInt(workload.groups)}; ${fmtInt(workload.memberships)} memberships; ` +
      `events built in ${fmt(workload.buildSeconds, 1)} s, the same events loaded into each topology (${topologies.join(', ')})`,
  );

  const runs = new Map<TopologyName, QueryRun>();
  const closing: string[] = [];
  for (const name of topologies) {
    const { run, lines } = await runTopology(name, workload, tmp);
    runs.set(name, run);
    closing.push(...lines);
  }
  const single = runs.get('single');
  const cluster = runs.get('cluster');
  if (single?.complete && cluster?.complete) closing.push(crossLine(single, cluster));
  if (closing.length > 0) console.log('');
  for (const line of closing) console.log(line);
  log(`done in ${fmt((performance.now() - started) / 1000, 0)} s`);
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await unwind();
}
// Whatever a child may still hold open (its pipes), the bench is over.
process.exit(exitCode);
