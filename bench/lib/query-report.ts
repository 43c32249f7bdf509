import type { TopologyName } from './apply-redis.js';
import type { QueryRun } from './query-rounds.js';
import { fmt } from './stats.js';

/**
 * bench:query's closing lines for one topology (bench/README.md explains
 * each figure). The first, `query: topology=… ratio_to_ceiling=…`, is the
 * one to grep; on a Cluster it says that the page cache is off there.
 */
export function queryLines(topology: TopologyName, run: QueryRun, staticBodyBytes: number): string[] {
  const get = (name: string) => run.merged.get(name)!;
  const cpu = (name: string) => run.cpuPerReq.get(name)!;
  const rounds = (name: string) => run.runs.get(name)!.results;
  const cluster = topology === 'cluster';
  const a = get('(a) ceiling');
  const b = get('(b) page10');
  const u = get('(b) page10-uncached');
  const dLast = get('(d) 100k-last');
  const dFirst = get('(d) 100k-first');
  const e = get('(e) upstream-100k');
  const perRound = rounds('(b) page10').map((x, i) => fmt(x.rps / rounds('(a) ceiling')[i]!.rps));
  const bRun = run.runs.get('(b) page10')!;
  const looked = bRun.hits + bRun.misses;
  return [
    `query: topology=${topology} ratio_to_ceiling=${fmt(b.rps / a.rps)} p99_ratio=${fmt(b.p99Ms / a.p99Ms)} ` +
      `flatness=${fmt(dLast.p50Ms / get('(d) 10-fixed').p50Ms)} vs_upstream_100k=${fmt(dFirst.rps / e.rps, 1)} ` +
      `page10_rps=${Math.round(b.rps)} ceiling_rps=${Math.round(a.rps)} page10_p99_ms=${fmt(b.p99Ms)}` +
      (cluster ? ' (page cache off on Cluster)' : ''),
    `query (more): topology=${topology} ratio_to_4k4_ceiling=${fmt(b.rps / get('(a) ceiling-4k4').rps)} page100_to_ceiling=${fmt(get('(c) page100').rps / a.rps)} ` +
      `flatness_vs_random_users=${fmt(dLast.p50Ms / u.p50Ms)} 100k_first_to_last_p50=${fmt(dLast.p50Ms / dFirst.p50Ms)} vs_upstream_100k_p50=${fmt(e.p50Ms / dFirst.p50Ms, 1)} ` +
      `static_body_bytes=${staticBodyBytes} ratio_to_ceiling_per_round=${perRound.join(',')} ` +
      // What ratio_to_ceiling would be if the machine's cores were the only limit: the
      // inverse ratio of all CPU spent per request. Steadier than req/s under noisy neighbours.
      `cpu_bound_ratio_to_ceiling=${fmt(cpu('(a) ceiling') / cpu('(b) page10'))}`,
    `query (page cache): topology=${topology} page10_hit_rate=${looked > 0 ? fmt(bRun.hits / looked) : 'off'} ` +
      `cache_off: ratio_to_ceiling=${fmt(u.rps / a.rps)} p99_ratio=${fmt(u.p99Ms / a.p99Ms)} ` +
      `cpu_bound_ratio_to_ceiling=${fmt(cpu('(a) ceiling') / cpu('(b) page10-uncached'))}` +
      (cluster ? ' (no page cache on a Cluster: page10 and page10-uncached both read every page from Redis)' : ''),
  ];
}

/**
 * Cluster req/s over single-node req/s, scenario by scenario, when both ran
 * complete: page10 is the page cache (single) against Redis (cluster);
 * page10-uncached and 100k-last are Redis on both; the ceiling (no Redis)
 * shows how much the machine itself moved between the two passes.
 */
export function crossLine(single: QueryRun, cluster: QueryRun): string {
  const ratio = (name: string) => fmt(cluster.merged.get(name)!.rps / single.merged.get(name)!.rps);
  return (
    `query (cluster vs single): page10_rps_ratio=${ratio('(b) page10')} page10_uncached_rps_ratio=${ratio('(b) page10-uncached')} ` +
    `100k_last_rps_ratio=${ratio('(d) 100k-last')} ceiling_rps_ratio=${ratio('(a) ceiling')}`
  );
}
