import { mastersCpuMs, type Topology } from './apply-redis.js';
import { mergeResults, runLoad, type LoadResult, type LoadSpec, type Runner } from './cannon.js';
import { childPid, cpuMs } from './cpu.js';
import { PAGE_PATH, type QueryTargets } from './query-targets.js';
import { fmt, fmtInt } from './stats.js';

/**
 * bench:query's scenarios on one topology, every one once per round, the
 * rounds pooled; a table per round and one of the pooled figures.
 */

export interface RoundOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  runner: Runner;
  /** --profile: (a) and (b) only. */
  profile: boolean;
  /** --only: the scenarios whose names contain one of these. */
  only?: string[];
}

export interface Pooled {
  results: LoadResult[];
  serverMs: number;
  redisMs: number;
  hits: number;
  misses: number;
}

export interface QueryRun {
  /** Every scenario was run (not --only or --profile): the closing lines can be computed. */
  complete: boolean;
  /** By scenario name: the rounds merged. */
  merged: Map<string, LoadResult>;
  /** By scenario name: every round's result and the CPU and cache counts summed. */
  runs: Map<string, Pooled>;
  /** CPU per request (ms) of everything the run keeps busy: server + Redis (masters) + load generator. */
  cpuPerReq: Map<string, number>;
}

const HEADER = `scenario                 req/s    p50 ms   p99 ms  mean ms  bytes/resp  non2xx errors | CPU us/req: server  redis  loadgen | cached`;

function row(name: string, r: LoadResult, serverMs: number, redisMs: number, cached: { hits: number; misses: number }): string {
  const perReq = (ms: number) => fmt((1000 * ms) / Math.max(1, r.requests + r.non2xx), 0).padStart(6);
  const looked = cached.hits + cached.misses;
  return (
    `${name.padEnd(22)} ${fmtInt(r.rps).padStart(8)} ${fmt(r.p50Ms).padStart(8)} ${fmt(r.p99Ms).padStart(8)} ${fmt(r.meanMs).padStart(8)}` +
    `  ${fmtInt(r.bytesPerResponse).padStart(9)}  ${String(r.non2xx).padStart(6)} ${String(r.errors + r.timeouts).padStart(6)} |` +
    `             ${perReq(serverMs)} ${perReq(redisMs)} ${perReq(r.loadgenCpuMs)} | ${looked > 0 ? `${fmt((100 * cached.hits) / looked, 0)}%` : '-'}`
  );
}

/** The page cache's counters, from an API's /metrics (0 where it keeps none, as on a Cluster). */
async function cacheCounts(url: string): Promise<{ hits: number; misses: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^imgroups_page_cache_${name}_total (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { hits: read('hits'), misses: read('misses') };
}

export async function runQueryScenarios(topology: Topology, t: QueryTargets, o: RoundOptions): Promise<QueryRun> {
  const { api, uncachedApi, server, bodies } = t;
  const base = { connections: o.connections, durationS: o.durationS, headers: t.headers };
  const pids = new Map([
    [api.url, childPid(api.child.pid)],
    [uncachedApi.url, childPid(uncachedApi.child.pid)],
    [server.url, childPid(server.child.pid)],
  ]);
  // (a) and (b) first and side by side, their order swapped every other round: the
  // neighbours' load drifts, and the closing ratio should see the same drift on both.
  const scenarios: LoadSpec[] = [
    { ...base, name: '(a) ceiling', url: server.url, path: '/bench/static/page', bodies: bodies.users10 },
    { ...base, name: '(b) page10', url: api.url, path: PAGE_PATH, bodies: bodies.users10 },
    { ...base, name: '(b) page10-uncached', url: uncachedApi.url, path: PAGE_PATH, bodies: bodies.users10 },
    { ...base, name: '(a) ceiling-4k4', url: server.url, path: '/bench/static/4k4', bodies: bodies.users10 },
    { ...base, name: '(c) page100', url: api.url, path: PAGE_PATH, bodies: bodies.users1k },
    { ...base, name: '(d) 100k-first', url: uncachedApi.url, path: PAGE_PATH, bodies: bodies.bigFirst },
    { ...base, name: '(d) 100k-last', url: uncachedApi.url, path: PAGE_PATH, bodies: bodies.bigLast },
    // (d) on the API with its cache off: flatness is about the read path's cost in N, which a
    // cached answer would hide. The same user every request, like 100k-first/last: only N differs.
    { ...base, name: '(d) 10-fixed', url: uncachedApi.url, path: PAGE_PATH, bodies: [bodies.users10[0]!] },
    { ...base, name: '(e) upstream-100k', url: server.url, path: '/bench/upstream', bodies: bodies.bigFirst },
  ];
  const chosen = o.profile
    ? scenarios.filter((s) => s.name === '(a) ceiling' || s.name === '(b) page10')
    : o.only
      ? scenarios.filter((s) => o.only!.some((x) => s.name.includes(x)))
      : scenarios;

  // Every scenario once per round, the rounds pooled: a neighbour's burst of
  // load lands on several scenarios instead of skewing one.
  const runs = new Map<string, Pooled>(chosen.map((spec) => [spec.name, { results: [], serverMs: 0, redisMs: 0, hits: 0, misses: 0 }]));
  for (let round = 1; round <= o.rounds; round++) {
    console.log(`[${topology.name}] round ${round}/${o.rounds}\n${HEADER}`);
    const order = round % 2 === 0 && chosen.length > 1 ? [chosen[1]!, chosen[0]!, ...chosen.slice(2)] : chosen;
    for (const spec of order) {
      if (o.warmupS > 0) await runLoad({ ...spec, durationS: o.warmupS }, o.runner);
      const pid = pids.get(spec.url);
      const isApi = spec.url === api.url;
      const cache0 = isApi ? await cacheCounts(spec.url) : undefined;
      const [srv0, redis0] = [cpuMs(pid), await mastersCpuMs(topology)];
      const r = await runLoad(spec, o.runner);
      const [srv1, redis1] = [cpuMs(pid), await mastersCpuMs(topology)];
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
  const merged = new Map<string, LoadResult>();
  const cpuPerReq = new Map<string, number>();
  console.log(`[${topology.name}] all rounds pooled\n${HEADER}`);
  for (const [name, acc] of runs) {
    const m = mergeResults(acc.results);
    merged.set(name, m);
    cpuPerReq.set(name, (acc.serverMs + acc.redisMs + m.loadgenCpuMs) / Math.max(1, m.requests + m.non2xx));
    console.log(row(name, m, acc.serverMs, acc.redisMs, acc));
  }
  return { complete: chosen.length === scenarios.length, merged, runs, cpuPerReq };
}
