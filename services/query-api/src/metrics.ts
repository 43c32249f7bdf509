import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { PageCacheStats } from './page-cache.js';

/**
 * The query API's Prometheus metrics, in a registry of its own per app (so
 * tests can build many apps in one process). Per request they cost two Map
 * lookups and a few additions (the latency histogram, below) plus a counter
 * for the in-flight gauge, read at scrape time.
 */
export interface ApiMetrics {
  readonly registry: Registry;
  /** One finished request: route template (or 'not_found'), errCode, seconds. */
  observe(route: string, errCode: number, seconds: number): void;
  requestStarted(): void;
  requestEnded(): void;
  redisError(kind: 'command' | 'connection'): void;
}

/** Latency buckets (seconds): a page read is sub-millisecond on a near Redis. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A histogram labelled by route and errCode, in prom-client's exposition
 * format (same lines as its Histogram) but cheap to observe: prom-client's
 * own validates and hashes the label set on every call (~0.7 µs), this one
 * finds the series in two Maps and adds. It is read only at scrape time.
 */
export function routeHistogram(name: string, help: string, buckets: readonly number[]) {
  const byRoute = new Map<string, Map<number, Series>>();
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const byCode of byRoute.values()) {
        for (const s of byCode.values()) {
          let cumulative = 0;
          buckets.forEach((le, i) => {
            cumulative += s.counts[i]!;
            values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${name}_bucket` });
          });
          values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${name}_bucket` });
          values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
          values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
        }
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {
      byRoute.clear();
    },
  };
  return {
    metric: metric as unknown as Metric,
    observe(route: string, errCode: number, seconds: number) {
      let byCode = byRoute.get(route);
      if (byCode === undefined) {
        byCode = new Map();
        byRoute.set(route, byCode);
      }
      let s = byCode.get(errCode);
      if (s === undefined) {
        s = { labels: { route, errCode: String(errCode) }, counts: new Array<number>(buckets.length + 1).fill(0), sum: 0, count: 0 };
        byCode.set(errCode, s);
      }
      let i = 0;
      while (i < buckets.length && seconds > buckets[i]!) i++;
      s.counts[i]!++;
      s.sum += seconds;
      s.count++;
    },
  };
}

export function createApiMetrics(cache?: PageCacheStats): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const duration = routeHistogram(
    'imgroups_http_request_duration_seconds',
    'HTTP request latency by route template and OpenIM errCode (0 = success)',
    LATENCY_BUCKETS,
  );
  registry.registerMetric(duration.metric);
  let inFlight = 0;
  new Gauge({
    name: 'imgroups_http_requests_in_flight',
    help: 'HTTP requests received and not yet answered',
    registers: [registry],
    collect() {
      this.set(inFlight);
    },
  });
  const redisErrors = new Counter({
    name: 'imgroups_redis_errors_total',
    help: 'Redis failures: a command that failed or timed out while serving a request, or a connection error',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  redisErrors.inc({ kind: 'command' }, 0);
  redisErrors.inc({ kind: 'connection' }, 0);
  if (cache !== undefined) registerCacheMetrics(registry, cache);

  return {
    registry,
    observe: duration.observe,
    requestStarted() {
      inFlight++;
    },
    requestEnded() {
      inFlight--;
    },
    redisError(kind) {
      redisErrors.inc({ kind });
    },
  };
}

/** The page cache's figures, read from its stats when scraped. */
function registerCacheMetrics(registry: Registry, stats: PageCacheStats): void {
  const counted = [
    ['hits', 'Pages answered from the page cache'],
    ['misses', 'Pages read from Redis while the page cache was on'],
    ['raced', 'Answers not cached because something they were read from changed meanwhile'],
    ['invalidations', 'Change reports received from Redis (CLIENT TRACKING)'],
  ] as const;
  for (const [field, help] of counted) {
    let reported = 0;
    new Counter({
      name: `imgroups_page_cache_${field}_total`,
      help,
      registers: [registry],
      collect() {
        this.inc(stats[field] - reported);
        reported = stats[field];
      },
    });
  }
  new Gauge({
    name: 'imgroups_page_cache_bytes',
    help: 'Bytes of answers held by the page cache',
    registers: [registry],
    collect() {
      this.set(stats.bytes);
    },
  });
  new Gauge({
    name: 'imgroups_page_cache_entries',
    help: 'Answers held by the page cache',
    registers: [registry],
    collect() {
      this.set(stats.entries);
    },
  });
}
