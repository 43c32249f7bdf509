import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The query API's Prometheus metrics, in a registry of its own per app (so
 * tests can build many apps in one process). The per-request work is one
 * Map lookup and one histogram observation in onResponse; the in-flight
 * gauge is a plain counter read at scrape time.
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
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const duration = new Histogram({
    name: 'imgroups_http_request_duration_seconds',
    help: 'HTTP request latency by route template and OpenIM errCode (0 = success)',
    labelNames: ['route', 'errCode'] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
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

  // prom-client hashes the label set on every call; the children are cached by key instead.
  const children = new Map<string, { observe(v: number): void }>();
  return {
    registry,
    observe(route, errCode, seconds) {
      const key = `${route} ${errCode}`;
      let child = children.get(key);
      if (child === undefined) {
        child = duration.labels(route, String(errCode));
        children.set(key, child);
      }
      child.observe(seconds);
    },
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
