import { devDefaultWarnings, loadConfigOrExit } from '@imgroups/config';
import { connectRedis } from '@imgroups/read-model';
import { Kafka, logLevel } from 'kafkajs';
import { build } from './app.js';
import { createLogger, kafkaLogCreator } from './logger.js';
import { createProjectorMetrics, startMetricsServer, type MetricsServer } from './metrics.js';

/** Wiring and signals only; the behaviour is in app.ts. */

const config = loadConfigOrExit(process.env, 'projector');

const logger = createLogger({ name: 'projector', level: config.LOG_LEVEL, pretty: config.LOG_FORMAT === 'pretty' });
for (const warning of devDefaultWarnings(config)) logger.warn(`DEVELOPMENT DEFAULT IN USE: ${warning}`);

// One Redis at REDIS_URL, or the Redis Cluster at REDIS_CLUSTER_NODES.
const redis = connectRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES }, {
  // Fail a command after a reconnect attempt instead of queueing it for long:
  // the apply loop retries with backoff and keeps the Kafka session alive.
  maxRetriesPerRequest: 1,
  retryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
  lazyConnect: false,
});
redis.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));

const kafka = new Kafka({
  clientId: config.KAFKA_CLIENT_ID,
  brokers: config.KAFKA_BROKERS,
  logLevel: logLevel.WARN,
  logCreator: kafkaLogCreator(logger),
  // Producer and admin retries; the consumer's restart policy is in app.ts.
  retry: { retries: config.KAFKA_RETRIES, initialRetryTime: 300, maxRetryTime: 10_000 },
});

const metrics = createProjectorMetrics(() => projector.stats);
const projector = build({ config, redis, kafka, logger, metrics });

// GET /metrics on its own port (0 = off). A port already taken is logged, not
// fatal: projecting matters more than being scraped.
let metricsServer: MetricsServer | undefined;
if (config.PROJECTOR_METRICS_PORT > 0) {
  try {
    metricsServer = await startMetricsServer(metrics.registry, config.PROJECTOR_METRICS_HOST, config.PROJECTOR_METRICS_PORT);
    logger.info({ host: config.PROJECTOR_METRICS_HOST, port: metricsServer.port }, 'metrics served at /metrics');
  } catch (err) {
    logger.error({ err, port: config.PROJECTOR_METRICS_PORT }, 'cannot serve metrics; projecting without them');
  }
}

let exiting = false;
async function shutdown(signal: string, code: number) {
  if (exiting) return;
  exiting = true;
  logger.info({ signal }, 'stopping projector');
  const timer = setTimeout(() => {
    logger.error(`shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting`);
    process.exit(code || 1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  try {
    await projector.stop();
    await redis.quit().catch(() => redis.disconnect());
    await metricsServer?.close();
    logger.info({ stats: projector.stats }, 'projector stopped');
  } finally {
    process.exit(code);
  }
}

process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
process.once('SIGINT', () => void shutdown('SIGINT', 0));

projector.crashed.catch((err: Error) => {
  logger.fatal({ err }, 'kafka unavailable past the retry budget; exiting for the supervisor to restart');
  void shutdown('crash', 1);
});

try {
  await projector.start();
} catch (err) {
  logger.fatal({ err }, 'projector failed to start');
  await shutdown('start-failure', 1);
}
