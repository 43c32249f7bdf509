import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Outcome, PositionedEvent } from '@imgroups/read-model';
import type { EachBatchPayload } from 'kafkajs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The projector's Prometheus metrics, served on their own port
 * (PROJECTOR_METRICS_PORT, main.ts). The running totals come from the
 * projector's `stats` object, read at scrape time; the rest is recorded by
 * two hooks in app.ts: `recordApplied` after each applied slice, and
 * `observeBatch` around each kafkajs batch (duration, per-partition lag).
 */
export interface ProjectorMetrics {
  readonly registry: Registry;
  /** Each applied slice: events[i] came out as outcomes[i]. */
  recordApplied(events: readonly PositionedEvent[], outcomes: readonly Outcome[]): void;
  /** Runs `handle` for a batch, timing it and recording the partition's lag after what it resolved. */
  observeBatch(payload: EachBatchPayload, handle: (payload: EachBatchPayload) => Promise<void>): Promise<void>;
}

/** The part of the projector's stats the metrics expose (app.ts ProjectorStats). */
export interface StatsSource {
  batches: number;
  messages: number;
  deadLettered: number;
  redisRetries: number;
  outcomes: Record<string, number>;
}

const BATCH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A counter whose value is a running total kept elsewhere, read at scrape time. */
function totalCounter(registry: Registry, name: string, help: string, read: () => number) {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function createProjectorMetrics(stats: () => StatsSource | undefined): ProjectorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const read = (pick: (s: StatsSource) => number) => () => {
    const s = stats();
    return s ? pick(s) : 0;
  };

  totalCounter(registry, 'projector_batches_total', 'kafkajs batches handled', read((s) => s.batches));
  totalCounter(registry, 'projector_messages_total', 'messages handled (applied, ignored or dead-lettered)', read((s) => s.messages));
  totalCounter(registry, 'projector_dead_letters_total', 'messages sent to the dead-letter topic', read((s) => s.deadLettered));
  totalCounter(registry, 'projector_redis_retries_total', 'Redis apply calls retried after a failure', read((s) => s.redisRetries));

  const events = new Counter({
    name: 'projector_events_total',
    help: 'decoded events by type and outcome (applied, or the reason it changed nothing)',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'projector_partition_lag',
    help: 'messages behind the high watermark after the last batch: highWatermark - 1 - last applied offset',
    labelNames: ['topic', 'partition'] as const,
    registers: [registry],
  });
  const batchDuration = new Histogram({
    name: 'projector_batch_duration_seconds',
    help: 'time to handle one kafkajs batch: decode, dead-letter, apply, resolve',
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });

  return {
    registry,
    recordApplied(applied, outcomes) {
      outcomes.forEach((outcome, i) => {
        const type = applied[i]?.event.type;
        if (type !== undefined) events.inc({ type, outcome });
      });
    },
    async observeBatch(payload, handle) {
      const stop = batchDuration.startTimer();
      let resolved: string | undefined;
      const resolveOffset = (offset: string) => {
        resolved = offset;
        payload.resolveOffset(offset);
      };
      try {
        await handle({ ...payload, resolveOffset });
      } finally {
        stop();
        const { batch } = payload;
        if (resolved !== undefined) {
          lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - 1 - Number(resolved)));
        }
      }
    },
  };
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** GET /metrics on host:port (0 = any free port); anything else is 404. */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
