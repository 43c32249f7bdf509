import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/**
 * The bridge's Prometheus metrics, served at GET /metrics on
 * OPENIM_BRIDGE_METRICS_PORT (main.ts). app.ts and the backfill call the
 * recorders; `openim_bridge_partition_held` is 1 while a partition waits for
 * OpenIM's API (a 1501 backfill) or for our topic, so an alert can tell a
 * held partition from an idle one.
 */
export interface BridgeMetrics {
  readonly registry: Registry;
  read(topic: string, partition: number, n: number): void;
  mapped(contentType: number): void;
  ignored(reason: string): void;
  deadLettered(contentType: number): void;
  produced(type: string): void;
  backfillCall(route: string): void;
  backfillFailure(reason: string): void;
  held(topic: string, partition: number, why: 'openim_api' | 'produce' | null): void;
  lag(topic: string, partition: number, messages: number): void;
}

export function createBridgeMetrics(): BridgeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const read = counter('openim_bridge_notifications_read_total', 'records read from OpenIM\'s topic (chat included)', ['topic', 'partition']);
  const mapped = counter('openim_bridge_notifications_mapped_total', 'group notifications turned into events', ['content_type']);
  const ignored = counter('openim_bridge_notifications_ignored_total', 'records that make no event, by reason (chat, not_group, member_detail, ...)', ['reason']);
  const dead = counter('openim_bridge_dead_letters_total', 'records sent to the bridge\'s dead-letter topic', ['content_type']);
  const produced = counter('openim_bridge_events_produced_total', 'events acknowledged by our topic', ['type']);
  const calls = counter('openim_bridge_backfill_calls_total', 'calls to OpenIM\'s HTTP API', ['route']);
  const failures = counter('openim_bridge_backfill_failures_total', 'failed backfills or API calls, by reason', ['reason']);
  const held = new Gauge({
    name: 'openim_bridge_partition_held',
    help: '1 while the partition waits (why = openim_api: a 1501 backfill; produce: our topic) and does not move on',
    labelNames: ['topic', 'partition', 'why'] as const,
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'openim_bridge_partition_lag',
    help: 'records behind the high watermark of OpenIM\'s topic after the last resolved offset',
    labelNames: ['topic', 'partition'] as const,
    registers: [registry],
  });
  return {
    registry,
    read: (topic, partition, n) => read.inc({ topic, partition: String(partition) }, n),
    mapped: (ct) => mapped.inc({ content_type: String(ct) }),
    ignored: (reason) => ignored.inc({ reason }),
    deadLettered: (ct) => dead.inc({ content_type: String(ct) }),
    produced: (type) => produced.inc({ type }),
    backfillCall: (route) => calls.inc({ route }),
    backfillFailure: (reason) => failures.inc({ reason }),
    held: (topic, partition, why) => {
      for (const w of ['openim_api', 'produce'] as const) held.set({ topic, partition: String(partition), why: w }, why === w ? 1 : 0);
    },
    lag: (topic, partition, messages) => lag.set({ topic, partition: String(partition) }, Math.max(0, messages)),
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
