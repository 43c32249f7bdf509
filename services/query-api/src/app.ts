import type { Config } from '@imgroups/config';
import { ReadModel, type RedisClient } from '@imgroups/read-model';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from 'fastify';
import type { Redis } from 'ioredis';
import { createAuth } from './auth.js';
import { createRequestChecks } from './authenticate.js';
import { clientErrorHandler, createErrorHandler, routeNotFound } from './errors.js';
import { createApiMetrics } from './metrics.js';
import { registerDocs } from './openapi.js';
import { connectPageCache, PageCache, pageCacheSupported } from './page-cache.js';
import { registerProtection } from './protection.js';
import { registerRequestLifecycle } from './request-lifecycle.js';
import { decorateRequestState } from './request-state.js';
import { registerAuthRoute } from './routes/auth.js';
import { registerGroupRoutes } from './routes/groups.js';
import { registerSyncRoutes } from './routes/sync.js';
import { registerOperationRoutes, registerStatusRoute } from './routes/operations.js';
import { createTokenStatusCheck, tokenStatusRedisOf } from './token-status.js';

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

export interface AppDeps {
  config: Config;
  /** The read model's Redis: one Redis or a Redis Cluster (createRedis). */
  redis: RedisClient;
  /** OpenIM's Redis (one Redis), for TOKEN_STATUS_CHECK; defaults to `redis` unless that is a Cluster. */
  tokenStatusRedis?: Redis;
  /** How long a resolved active generation is used (read-model ActiveGeneration); default 250 ms, 0 in tests that switch generations by hand. */
  activeTtlMs?: number;
  /** Pino options merged over the defaults (level from LOG_LEVEL, token redaction); false for none. */
  logger?: false | LoggerOptions;
}

/** Bounds how long a request may trickle in (slowloris) when no proxy sits in front. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The query API. Headers are checked and the token verified in onRequest,
 * before the body is read (as upstream's middleware does); then the body is
 * validated, the caller's right checked, and the read model reads the answer
 * (a script call in the user's or the group's slot, and the cards).
 * Listening is the caller's business: tests use `app.inject()`.
 *
 * Per request, beyond the route itself: one onRequest hook (shutdown check,
 * in-flight count) and one onResponse hook (latency histogram, the access-log
 * line), both in request-lifecycle.ts; the under-pressure flag check; and
 * only when configured the rate limiter (RATE_LIMIT_MAX, protection.ts) and
 * the token-status read (TOKEN_STATUS_CHECK, authenticate.ts).
 *
 * This function only wires: the routes are in routes/, errors become
 * envelopes in errors.ts, and the page cache opens its own connections.
 */
export async function build(deps: AppDeps): Promise<FastifyInstance> {
  const { config, redis } = deps;
  const readModelOptions = { root: config.REDIS_KEY_PREFIX, dedupeWindow: config.DEDUPE_WINDOW, activeTtlMs: deps.activeTtlMs };
  const readModel = new ReadModel(redis, readModelOptions);
  const auth = createAuth({ secret: config.OPENIM_SECRET, expireDays: config.TOKEN_EXPIRE_DAYS });
  const admins: ReadonlySet<string> = new Set(config.ADMIN_USER_IDS);
  const tokenStatus = config.TOKEN_STATUS_CHECK ? createTokenStatusCheck(tokenStatusRedisOf(redis, deps.tokenStatusRedis)) : undefined;
  const pageCache = new PageCache({
    // Off on a Redis Cluster: pageCacheSupported() says why.
    maxBytes: pageCacheSupported(redis) ? config.QUERY_CACHE_MAX_BYTES : 0,
    maxAgeMs: config.QUERY_CACHE_MAX_AGE_MS,
    // A read in flight longer than a command may wait has failed anyway.
    inFlightMs: 2 * config.REDIS_COMMAND_TIMEOUT_MS,
  });
  const metrics = createApiMetrics(pageCache.enabled ? pageCache.stats : undefined);
  const handleError = createErrorHandler(config.BODY_LIMIT_BYTES);

  const app = Fastify({
    logger:
      deps.logger === false
        ? false
        : {
            level: config.LOG_LEVEL,
            ...deps.logger,
            // The token is a bearer credential; it must never reach a log line.
            redact: { paths: ['req.headers.token', 'headers.token'], censor: '[redacted]' },
          },
    // operationID is the client's trace ID: it becomes the request ID on every log line.
    requestIdHeader: 'operationid',
    // fastify's own request lines are off: one access-log line per request (request-lifecycle.ts).
    logController: new LogController({ requestIdLogLabel: 'operationID', disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Requests arriving while we drain get our envelope (below) rather than fastify's own 503 body.
    return503OnClosing: false,
    clientErrorHandler,
    // A path that does not decode (`/%zz`) or too long a parameter: it names no
    // route, and no hook runs for it, so its access-log line is written here.
    frameworkErrors: (_error, request, rawReply) => {
      const reply = rawReply as FastifyReply;
      handleError(routeNotFound(), request, reply);
      lifecycle.finished(request, reply, 'not_found');
    },
  });
  decorateRequestState(app);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(() => {
    throw routeNotFound();
  });
  // JSON only: a text/plain body is refused as a content-type error, not parsed as a string.
  app.removeContentTypeParser('text/plain');

  const redisFailure = (err: unknown) => {
    metrics.redisError('command');
    return err;
  };
  const onConnectionError = () => metrics.redisError('connection');
  redis.on('error', onConnectionError);
  const pageCacheConnections = connectPageCache(pageCache, redis, {
    root: config.REDIS_KEY_PREFIX,
    onConnectionError,
    onTrackingError: (err) => app.log.warn({ err }, 'page cache: could not turn tracking on; pages are read from Redis meanwhile'),
  });
  const pageReads = pageCacheConnections ? new ReadModel(pageCacheConnections.reads, readModelOptions) : readModel;
  app.addHook('onClose', (_instance, done) => {
    redis.off('error', onConnectionError);
    pageCacheConnections?.close();
    done();
  });

  const lifecycle = registerRequestLifecycle(app, metrics, deps.logger !== false);

  // Swagger collects routes as they are added, so it comes first; /docs lists
  // the routes in the order they are added below.
  await registerDocs(app);
  await registerProtection(app, config, admins);
  const { requireOperationID, authenticate } = createRequestChecks({ auth, admins, tokenStatus, redisFailure });
  const groupRoutes = { config, readModel, pageReads, admins, authenticate, redisFailure, pageCache };
  await registerGroupRoutes(app, groupRoutes);
  await registerSyncRoutes(app, groupRoutes);
  // Operators' view of the read model (pnpm status): admins only, off the query path.
  await registerStatusRoute(app, { config, redis, admins, authenticate, redisFailure });
  registerAuthRoute(app, { auth, secret: config.OPENIM_SECRET, admins, requireOperationID });
  registerOperationRoutes(app, { readModel, metrics, redisFailure });

  return app;
}
