/**
 * `pnpm bench:query`: the query path against its own ceilings, in one run.
 *
 *   pnpm bench:query [--duration 10] [--warmup 2] [--connections 100] [--rounds 2]
 *                    [--runner process|inproc] [--groups 100000] [--users10 10000] [--users1k 100]
 *                    [--profile]   CPU-profile the servers during (a) and (b) only, print where the time goes
 *                    [--only ceiling,page10]  run only the scenarios whose names contain one of these
 *                    [--api-entry <file.js>]  start the query API from another entry (an A/B of a change)
 *                    [--api-env KEY=VALUE]...  configuration for the query APIs (an A/B of a setting)
 *
 * Starts its own redis-server (free port, in memory), loads the workload
 * through the real apply path (lib/workload.ts), starts the query API from
 * its compiled JS (NODE_ENV=production, LOG_LEVEL=warn) and the bench server
 * (lib/server.ts: same Fastify options, the static ceiling and the upstream
 * baseline) as processes of their own, then runs autocannon against each:
 *
 *   (a)  ceiling      bare route, static body of a 10-group page's size (+ a4k4: 4.4 KB)
 *   (b)  page10       get_joined_group_list, page 1 of 10, random users in 10 groups
 *        page10-uncached  the same against a second query API with its page cache off
 *   (c)  page100      page of 100, random page of random users in 1,000 groups
 *   (d)  100k-first   the user in 100,000 groups, page 1 of 10        } against the API with its cache
 *        100k-last    the same user, page 10,000 (the last)             } off: they measure the read
 *        10-fixed     one user in 10 groups, page 1, every request      } path (flatness: 100k-last p50 / this p50)
 *   (e)  upstream     the same request as 100k-first, upstream's way (whole ID list as one JSON string)
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startRedisServer } from '@imgroups/devenv';
import { openImToken } from '@imgroups/testing';
import { Redis } from 'ioredis';
import { mergeResults, runLoad, type LoadResult, type LoadSpec, type Runner } from './lib/cannon.js';
import { startNodeService, type Service } from './lib/children.js';
import { childPid, cpuMs } from './lib/cpu.js';
import { productServerShape } from './lib/fastify-options.js';
import { mainThreadProfile, summarizeProfile } from './lib/profile.js';
import type { BenchServerSetup } from './lib/server.js';
import { fmt, fmtInt } from './lib/stats.js';
import { loadQueryWorkload } from './lib/workload.js';

const { values: args } = parseArgs({
  options: {
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

const ROOT = 'rm';
const SECRET = 'bench-secret-not-for-production';
const ADMIN = 'imAdmin';
const PAGE_PATH = '/group/get_joined_group_list';
const CEILING_4K4 = 4400;

const log = (...xs: unknown[]) => console.error('[bench:query]', ...xs);
const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup() {
  for (const c of cleanups.reverse()) await c().catch(() => {});
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

const body = (userID: string, pageNumber: number, showNumber: number) =>
  JSON.stringify({ fromUserID: userID, pagination: { pageNumber, showNumber } });

async function post(url: string, path: string, headers: Record<string, string>, payload: string): Promise<string> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text;
}

/** An answer must be errCode 0 with `groups` of the expected length. */
function checkPage(what: string, text: string, groups: number, total?: number): void {
  const parsed = JSON.parse(text) as { errCode: number; data?: { total: number; groups: unknown[] } };
  if (parsed.errCode !== 0 || parsed.data?.groups.length !== groups || (total !== undefined && parsed.data.total !== total)) {
    throw new Error(`${what}: unexpected answer ${text.slice(0, 300)}`);
  }
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-query-'));
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));

  const redisServer = await startRedisServer();
  cleanups.push(() => redisServer.stop());
  const redis = new Redis(redisServer.url);
  cleanups.push(async () => redis.disconnect());
  log(`redis-server on ${redisServer.url} (its own, in memory)`);

  const workload = await loadQueryWorkload(redis, {
    root: ROOT,
    groups: Number(args.groups),
    users10: Number(args.users10),
    users1k: Number(args.users1k),
    seed: 20_240_611,
    dedupeWindow: 128,
  });
  const info = await redis.info('memory');
  log(
    `workload: ${fmtInt(workload.groups)} groups, ${fmtInt(workload.users10.length)} users in 10, ` +
      `${workload.users1k.length} in 1,000, 1 in ${fmtInt(workload.groups)}; ${fmtInt(workload.memberships)} memberships, ` +
      `loaded through ReadModel.apply in ${fmt(workload.loadSeconds, 1)} s; redis ${/used_memory_human:(\S+)/.exec(info)?.[1]}`,
  );

  const env: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL: redisServer.url,
    REDIS_KEY_PREFIX: ROOT,
    OPENIM_SECRET: SECRET,
    ADMIN_USER_IDS: ADMIN,
    // --api-env KEY=VALUE: configuration for both query APIs (an A/B of a setting).
    ...Object.fromEntries(args['api-env'].map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
  const shape = await productServerShape(env);
  const profDir = join(tmp, 'profiles');
  const profFlags = (name: string) => (args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, name)}`] : []);

  const api: Service = await startNodeService('query-api', [...profFlags('api'), args['api-entry']], env);
  cleanups.push(() => api.stop());
  // The same API with its page cache off: what a page costs when it is read from Redis.
  const uncachedApi: Service = await startNodeService('query-api (cache off)', [args['api-entry']], { ...env, QUERY_CACHE_MAX_BYTES: '0' });
  cleanups.push(() => uncachedApi.stop());
  const token = openImToken(SECRET, ADMIN, { platformID: 10 });
  const headers = { operationID: 'bench', token };

  // The static bodies: a real page of 10 (same bytes as (b)'s answers), and the issue's 4.4 KB.
  const samplePage = await post(api.url, PAGE_PATH, headers, body(workload.users10[0]!, 1, 10));
  checkPage('page10', samplePage, 10, 10);
  const small = JSON.parse(samplePage) as { data: { groups: unknown[] } };
  let smallBody = '';
  for (let n = small.data.groups.length; n > 0; n--) {
    smallBody = JSON.stringify({ errCode: 0, errMsg: '', errDlt: '', data: { total: n, groups: small.data.groups.slice(0, n) } });
    if (Buffer.byteLength(smallBody) <= CEILING_4K4) break;
  }
  smallBody = smallBody.replace('"errDlt":""', `"errDlt":"${' '.repeat(CEILING_4K4 - Buffer.byteLength(smallBody))}"`);

  const setupFile = join(tmp, 'server.json');
  const setup: BenchServerSetup = {
    options: shape.options,
    statics: { page: samplePage, '4k4': smallBody },
    generation: workload.generation,
  };
  writeFileSync(setupFile, JSON.stringify(setup));
  const server = await startNodeService(
    'bench-server',
    ['--conditions=source', '--import', 'tsx', ...profFlags('server'), join(REPO_ROOT, 'bench/lib/server.ts'), setupFile],
    // The upstream route reads a ~1.3 MB string per request; 100 of them queue on one
    // connection for longer than the product's 1 s command timeout. Let the
    // baseline wait rather than fail: its failures would flatter us.
    { ...env, REDIS_COMMAND_TIMEOUT_MS: '30000' },
  );
  cleanups.push(() => server.stop());

  log(`server options from the product: ${JSON.stringify(shape.options)}`);
  log(`the product's route runs these hooks, the bare routes none:\n${shape.routeHooks}`);

  const bigTotal = workload.groups;
  const lastPage = Math.ceil(bigTotal / 10);
  const users10Bodies = workload.users10.map((u) => body(u, 1, 10));
  const users1kBodies = workload.users1k.flatMap((u) => Array.from({ length: 10 }, (_, i) => body(u, i + 1, 100)));
  const bigFirst = [body(workload.bigUser, 1, 10)];
  const bigLast = [body(workload.bigUser, lastPage, 10)];

  // Every target answers what it should before it is measured; the upstream
  // baseline must give the same bytes as the product for the same page.
  const first = await post(api.url, PAGE_PATH, headers, bigFirst[0]!);
  checkPage('100k-first', first, 10, bigTotal);
  checkPage('100k-last', await post(api.url, PAGE_PATH, headers, bigLast[0]!), 10, bigTotal);
  checkPage('page100', await post(api.url, PAGE_PATH, headers, users1kBodies[3]!), 100, 1000);
  const upstream = await post(server.url, '/bench/upstream', {}, bigFirst[0]!);
  if (upstream !== first) throw new Error(`the upstream baseline answers differently:\n${upstream.slice(0, 300)}\n${first.slice(0, 300)}`);
  checkPage('ceiling', await post(server.url, '/bench/static/page', headers, users10Bodies[0]!), 10, 10);

  const base = { connections: Number(args.connections), durationS: Number(args.duration), headers };
  const warmupS = Number(args.warmup);
  const pids = new Map([
    [api.url, childPid(api.child.pid)],
    [uncachedApi.url, childPid(uncachedApi.child.pid)],
    [server.url, childPid(server.child.pid)],
  ]);
  // The page cache's counters, from the API's /metrics.
  const cacheCounts = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^imgroups_page_cache_${name}_total (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { hits: read('hits'), misses: read('misses') };
  };
  const redisCpuMs = async () => {
    const cpu = await redis.info('cpu');
    const sec = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(cpu)?.[1]);
    return (sec('used_cpu_user') + sec('used_cpu_sys')) * 1000;
  };
  // (a) and (b) first and side by side, their order swapped every other round: the
  // neighbours' load drifts, and the closing ratio should see the same drift on both.
  const scenarios: LoadSpec[] = [
    { ...base, name: '(a) ceiling', url: server.url, path: '/bench/static/page', bodies: users10Bodies },
    { ...base, name: '(b) page10', url: api.url, path: PAGE_PATH, bodies: users10Bodies },
    { ...base, name: '(b) page10-uncached', url: uncachedApi.url, path: PAGE_PATH, bodies: users10Bodies },
    { ...base, name: '(a) ceiling-4k4', url: server.url, path: '/bench/static/4k4', bodies: users10Bodies },
    { ...base, name: '(c) page100', url: api.url, path: PAGE_PATH, bodies: users1kBodies },
    { ...base, name: '(d) 100k-first', url: uncachedApi.url, path: PAGE_PATH, bodies: bigFirst },
    { ...base, name: '(d) 100k-last', url: uncachedApi.url, path: PAGE_PATH, bodies: bigLast },
    // (d) on the API with its cache off: flatness is about the read path's cost in N, which a
    // cached answer would hide. The same user every request, like 100k-first/last: only N differs.
    { ...base, name: '(d) 10-fixed', url: uncachedApi.url, path: PAGE_PATH, bodies: [users10Bodies[0]!] },
    { ...base, name: '(e) upstream-100k', url: server.url, path: '/bench/upstream', bodies: bigFirst },
  ];
  const only = args.only?.split(',');
  const chosen = args.profile
    ? scenarios.filter((s) => s.name === '(a) ceiling' || s.name === '(b) page10')
    : only
      ? scenarios.filter((s) => only.some((o) => s.name.includes(o)))
      : scenarios;

  const rounds = Number(args.rounds);
  log(`autocannon: ${base.connections} connections, ${warmupS} s warm-up + ${base.durationS} s per scenario and round, ${rounds} round(s), runner: ${runner}`);
  const header = `scenario                 req/s    p50 ms   p99 ms  mean ms  bytes/resp  non2xx errors | CPU us/req: server  redis  loadgen | cached`;
  const row = (name: string, r: LoadResult, serverMs: number, redisMs: number, cached: { hits: number; misses: number }) => {
    const perReq = (ms: number) => fmt((1000 * ms) / Math.max(1, r.requests + r.non2xx), 0).padStart(6);
    const looked = cached.hits + cached.misses;
    return (
      `${name.padEnd(22)} ${fmtInt(r.rps).padStart(8)} ${fmt(r.p50Ms).padStart(8)} ${fmt(r.p99Ms).padStart(8)} ${fmt(r.meanMs).padStart(8)}` +
      `  ${fmtInt(r.bytesPerResponse).padStart(9)}  ${String(r.non2xx).padStart(6)} ${String(r.errors + r.timeouts).padStart(6)} |` +
      `             ${perReq(serverMs)} ${perReq(redisMs)} ${perReq(r.loadgenCpuMs)} | ${looked > 0 ? `${fmt((100 * cached.hits) / looked, 0)}%` : '-'}`
    );
  };
  // Every scenario once per round, the rounds pooled: a neighbour's burst of
  // load lands on several scenarios instead of skewing one.
  const runs = new Map<string, { results: LoadResult[]; serverMs: number; redisMs: number; hits: number; misses: number }>(
    chosen.map((spec) => [spec.name, { results: [], serverMs: 0, redisMs: 0, hits: 0, misses: 0 }]),
  );
  for (let round = 1; round <= rounds; round++) {
    console.log(`round ${round}/${rounds}\n${header}`);
    const order = round % 2 === 0 && chosen.length > 1 ? [chosen[1]!, chosen[0]!, ...chosen.slice(2)] : chosen;
    for (const spec of order) {
      if (warmupS > 0) await runLoad({ ...spec, durationS: warmupS }, runner);
      const pid = pids.get(spec.url);
      const isApi = spec.url === api.url;
      const cache0 = isApi ? await cacheCounts(spec.url) : undefined;
      const [srv0, redis0] = [cpuMs(pid), await redisCpuMs()];
      const r = await runLoad(spec, runner);
      const [srv1, redis1] = [cpuMs(pid), await redisCpuMs()];
      const cache1 = isApi ? await cacheCounts(spec.url) : undefined;
      const cached = { hits: (cache1?.hits ?? 0) - (cache0?.hits ?? 0), misses: (cache1?.misses ?? 0) - (cache0?.misses ?? 0) };
      const acc = runs.get(spec.name)!;
      acc.results.push(r);
      acc.serverMs += srv1 - srv0;
      acc.redisMs += redis1 - redis0;
      acc.hits += cached.hits;
      acc.misses += cached.misses;
      console.log(row(spec.name, r, srv1 - srv0, redis1 - redis0, cached));
    }
  }
  const results = new Map<string, LoadResult>();
  // CPU per request of everything the run keeps busy (server + Redis + load generator).
  const cpuPerReq = new Map<string, number>();
  console.log(`all rounds pooled\n${header}`);
  for (const [name, acc] of runs) {
    const merged = mergeResults(acc.results);
    results.set(name, merged);
    cpuPerReq.set(name, (acc.serverMs + acc.redisMs + merged.loadgenCpuMs) / Math.max(1, merged.requests + merged.non2xx));
    console.log(row(name, merged, acc.serverMs, acc.redisMs, acc));
  }

  if (args.profile) {
    await api.stop();
    await server.stop();
    for (const [name, dir] of [['query API over (b)', join(profDir, 'api')], ['bench server over (a)', join(profDir, 'server')]] as const) {
      const file = mainThreadProfile(dir);
      console.log(`\n--- CPU profile: ${name} (the process's life, idle left out: mostly (a) or (b)) ---`);
      console.log(file ? summarizeProfile(file) : '(no profile written)');
    }
    return;
  }

  if (chosen.length !== scenarios.length) return;
  const get = (name: string) => results.get(name)!;
  const perRound = runs.get('(b) page10')!.results.map((b, i) => fmt(b.rps / runs.get('(a) ceiling')!.results[i]!.rps));
  const a = get('(a) ceiling');
  const b = get('(b) page10');
  const dLast = get('(d) 100k-last');
  const dFirst = get('(d) 100k-first');
  const e = get('(e) upstream-100k');
  console.log(
    `query: ratio_to_ceiling=${fmt(b.rps / a.rps)} p99_ratio=${fmt(b.p99Ms / a.p99Ms)} ` +
      `flatness=${fmt(dLast.p50Ms / get('(d) 10-fixed').p50Ms)} vs_upstream_100k=${fmt(dFirst.rps / e.rps, 1)}`,
  );
  console.log(
    `query (more): ratio_to_4k4_ceiling=${fmt(b.rps / get('(a) ceiling-4k4').rps)} page100_to_ceiling=${fmt(get('(c) page100').rps / a.rps)} ` +
      `flatness_vs_random_users=${fmt(dLast.p50Ms / get('(b) page10-uncached').p50Ms)} 100k_first_to_last_p50=${fmt(dLast.p50Ms / dFirst.p50Ms)} vs_upstream_100k_p50=${fmt(e.p50Ms / dFirst.p50Ms, 1)} ` +
      `static_body_bytes=${Buffer.byteLength(samplePage)} ratio_to_ceiling_per_round=${perRound.join(',')} ` +
      // What ratio_to_ceiling would be if the machine's cores were the only limit: the
      // inverse ratio of all CPU spent per request. Steadier than req/s under noisy neighbours.
      `cpu_bound_ratio_to_ceiling=${fmt(cpuPerReq.get('(a) ceiling')! / cpuPerReq.get('(b) page10')!)}`,
  );
  const bRun = runs.get('(b) page10')!;
  const u = get('(b) page10-uncached');
  console.log(
    `query (page cache): page10_hit_rate=${fmt(bRun.hits / Math.max(1, bRun.hits + bRun.misses))} ` +
      `cache_off: ratio_to_ceiling=${fmt(u.rps / a.rps)} p99_ratio=${fmt(u.p99Ms / a.p99Ms)} ` +
      `cpu_bound_ratio_to_ceiling=${fmt(cpuPerReq.get('(a) ceiling')! / cpuPerReq.get('(b) page10-uncached')!)}`,
  );
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await cleanup();
}
// Whatever a child may still hold open (its pipes), the bench is over.
process.exit(exitCode);
