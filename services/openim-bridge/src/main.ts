import { devDefaultWarnings, loadConfigOrExit } from '@imgroups/config';
import { Kafka, logLevel } from 'kafkajs';
import { build } from './app.js';
import { createBackfill } from './backfill.js';
import { createLogger, kafkaLogCreator } from './logger.js';
import { createBridgeMetrics, startMetricsServer, type MetricsServer } from './metrics.js';
import { OpenIMApi } from './openim-api.js';

/** Wiring and signals only; the behaviour is in app.ts. */

const config = loadConfigOrExit(process.env, 'openim-bridge');

const logger = createLogger({ name: 'openim-bridge', level: config.LOG_LEVEL, pretty: config.LOG_FORMAT === 'pretty' });
for (const warning of devDefaultWarnings(config)) logger.warn(`DEVELOPMENT DEFAULT IN USE: ${warning}`);

const kafkaOptions = (brokers: string[], clientId: string) => ({
  clientId,
  brokers,
  logLevel: logLevel.WARN,
  logCreator: kafkaLogCreator(logger),
  retry: { retries: config.KAFKA_RETRIES, initialRetryTime: 300, maxRetryTime: 10_000 },
});
const sourceKafka = new Kafka(kafkaOptions(config.OPENIM_KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-openim-bridge`));
const kafka = new Kafka(kafkaOptions(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-openim-bridge`));

const metrics = createBridgeMetrics();
let backfill;
if (config.OPENIM_API_URL) {
  const api = new OpenIMApi({
    baseUrl: config.OPENIM_API_URL,
    secret: config.OPENIM_SECRET,
    adminUserID: config.ADMIN_USER_IDS[0]!,
    timeoutMs: config.OPENIM_API_TIMEOUT_MS,
    onCall: (route) => metrics.backfillCall(route),
  });
  backfill = createBackfill({ api, config, metrics, logger });
} else {
  logger.warn('OPENIM_API_URL is unset: a created group (1501) is published with the members its notification lists (the owner only)');
}
const bridge = build({ config, sourceKafka, kafka, logger, metrics, ...(backfill ? { backfill } : {}) });

let metricsServer: MetricsServer | undefined;
if (config.OPENIM_BRIDGE_METRICS_PORT > 0) {
  try {
    metricsServer = await startMetricsServer(metrics.registry, config.OPENIM_BRIDGE_METRICS_HOST, config.OPENIM_BRIDGE_METRICS_PORT);
    logger.info({ host: config.OPENIM_BRIDGE_METRICS_HOST, port: metricsServer.port }, 'metrics served at /metrics');
  } catch (err) {
    logger.error({ err, port: config.OPENIM_BRIDGE_METRICS_PORT }, 'cannot serve metrics; bridging without them');
  }
}

let exiting = false;
async function shutdown(signal: string, code: number) {
  if (exiting) return;
  exiting = true;
  logger.info({ signal }, 'stopping openim bridge');
  const timer = setTimeout(() => {
    logger.error(`shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting`);
    process.exit(code || 1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  try {
    await bridge.stop();
    await metricsServer?.close();
    logger.info({ stats: bridge.stats }, 'openim bridge stopped');
  } finally {
    process.exit(code);
  }
}

process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
process.once('SIGINT', () => void shutdown('SIGINT', 0));

bridge.crashed.catch((err: Error) => {
  logger.fatal({ err }, 'kafka unavailable past the retry budget; exiting for the supervisor to restart');
  void shutdown('crash', 1);
});

try {
  await bridge.start();
} catch (err) {
  logger.fatal({ err }, 'openim bridge failed to start');
  await shutdown('start-failure', 1);
}
