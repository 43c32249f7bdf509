import { devDefaultWarnings, loadConfigOrExit } from '@imgroups/config';
import { build } from './app.js';
import { pageCacheSupported } from './page-cache.js';
import { createRedis, createSingleRedis } from './redis.js';

/** Wiring and signals only; the app is `build()`. */

const config = loadConfigOrExit(process.env, 'query-api');
const redis = createRedis(config);
// OpenIM's Redis (one Redis, never a Cluster), when the token status lives
// elsewhere than the read model: another URL, or the read model on a Cluster.
const tokenStatusRedis =
  config.TOKEN_STATUS_CHECK && (config.TOKEN_STATUS_REDIS_URL !== config.REDIS_URL || (config.REDIS_CLUSTER_NODES?.length ?? 0) > 0)
    ? createSingleRedis(config, config.TOKEN_STATUS_REDIS_URL)
    : undefined;
const app = await build({
  config,
  redis,
  tokenStatusRedis,
  ...(config.LOG_FORMAT === 'pretty'
    ? { logger: { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } }
    : {}),
});

for (const warning of devDefaultWarnings(config)) {
  app.log.warn(`!!! DEVELOPMENT DEFAULT IN USE: ${warning}`);
}
if (!pageCacheSupported(redis) && config.QUERY_CACHE_MAX_BYTES > 0) {
  app.log.info('page cache off: the read model is on a Redis Cluster (docs/redis-cluster.md "Reads")');
}

// ioredis reports every failed reconnect; say it loudly once per outage. Requests meanwhile fail fast with a 500.
let redisDown = false;
redis.on('error', (err: Error) => {
  if (redisDown) return app.log.debug({ err }, 'redis still unreachable');
  redisDown = true;
  app.log.warn({ err }, 'redis unreachable; queries answer 500 until it is back');
});
tokenStatusRedis?.on('error', (err: Error) => app.log.debug({ err }, 'token status redis unreachable'));
redis.on('ready', () => {
  if (!redisDown) return;
  redisDown = false;
  app.log.info('redis connection restored');
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'shutting down');
  // Whatever hangs (a stuck connection, Redis gone), the process ends within the bound.
  setTimeout(() => {
    app.log.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS).unref();
  let exitCode = 0;
  try {
    await app.close();
  } catch (err) {
    app.log.error({ err }, 'error while closing the server');
    exitCode = 1;
  }
  // QUIT waits for pending replies; with Redis gone it fails (bounded by the command timeout) and we just drop the socket.
  await redis.quit().catch(() => redis.disconnect());
  await tokenStatusRedis?.quit().catch(() => tokenStatusRedis.disconnect());
  process.exit(exitCode);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

try {
  await app.listen({ host: config.API_HOST, port: config.API_PORT });
} catch (err) {
  app.log.fatal({ err }, 'cannot listen');
  redis.disconnect();
  tokenStatusRedis?.disconnect();
  process.exit(1);
}
