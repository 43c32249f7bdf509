import type { Config } from '@imgroups/config';
import { CodeError, ErrCode } from '@imgroups/contracts';
import { createStatusReader } from '@imgroups/ops';
import type { ReadModel, RedisClient } from '@imgroups/read-model';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { z } from 'zod';
import { JSON_CONTENT_TYPE, okEnvelope } from '../envelope.js';
import type { ApiMetrics } from '../metrics.js';
import type { RouteDoc } from '../openapi.js';
import { neverShed } from '../protection.js';

/**
 * The operators' routes: liveness, readiness and metrics for the platform
 * (no token, never rate limited), and GET /status for admins. None is on the
 * query path.
 */

const Partition = z.object({
  partition: z.number().int(),
  applied: z.number().int().nullable().describe('last offset applied in the generation (its checkpoint)'),
  highWatermark: z.number().int().nullable().describe('offset the next message will get; null when Kafka did not answer'),
  lag: z.number().int().nullable().describe('messages not applied yet'),
  committed: z.number().int().nullable().optional().describe("the live consumer group's committed offset, when the broker reports it"),
});

/** The shape of packages/ops' Status, for the API description. */
const StatusData = z.object({
  root: z.string(),
  topic: z.string(),
  at: z.number().int(),
  active: z.object({
    generation: z.number().int().nullable(),
    consumerGroup: z.string(),
    lag: z.number().int().nullable(),
    partitions: z.array(Partition),
  }),
  rebuild: z
    .object({
      generation: z.number().int(),
      status: z.enum(['running', 'switched', 'done']),
      consumerGroup: z.string(),
      startedAt: z.number().int(),
      applied: z.number().int(),
      total: z.number().int().nullable(),
      progress: z.number().nullable(),
      partitions: z.array(Partition),
    })
    .loose()
    .nullable()
    .describe('the latest rebuild; switch and replay timings once switched'),
  pendingDeletion: z.array(z.string()),
  scratch: z.array(z.string()),
  kafka: z.object({ ok: z.boolean(), error: z.string().optional() }),
  committedUnavailable: z.string().optional(),
});

const statusDoc: RouteDoc = {
  summary: 'Read model status (admins)',
  description:
    'Active generation and its per-partition lag, the latest rebuild and its progress, generations being deleted: ' +
    'the data of `pnpm status`. Admin token required. A few Redis reads and two Kafka admin calls (3 s bound each); ' +
    'nothing shared with the query path.',
  tags: ['operations'],
  headers: 'operationID+token',
  data: StatusData,
  errCodes: [ErrCode.Args, ErrCode.NoPermission, ErrCode.ServerInternal],
};

/**
 * GET /status: the same data as `pnpm status` (packages/ops), in the envelope.
 * The Kafka admin client is connected on the first call only.
 */
export async function registerStatusRoute(
  app: FastifyInstance,
  deps: { config: Config; redis: RedisClient; admins: ReadonlySet<string>; authenticate: onRequestHookHandler; redisFailure: (err: unknown) => unknown },
): Promise<void> {
  const reader = createStatusReader({ redis: deps.redis, config: deps.config });
  app.addHook('onClose', async () => {
    await reader.close();
  });
  app.get('/status', { onRequest: deps.authenticate, config: { openapi: statusDoc } }, async (request, reply) => {
    if (!deps.admins.has(request.userID)) {
      throw new CodeError(ErrCode.NoPermission, 'only an admin may read the status');
    }
    let status;
    try {
      status = await reader.read();
    } catch (err) {
      throw deps.redisFailure(err);
    }
    reply.header('content-type', JSON_CONTENT_TYPE);
    return okEnvelope(status);
  });
}

const healthzDoc: RouteDoc = {
  summary: 'Liveness',
  description: 'Answers while the process serves HTTP, whatever Redis is doing; never shed under pressure.',
  tags: ['operations'],
  headers: 'none',
  data: z.object({ status: z.literal('ok') }),
  httpErrors: [503],
};

const readyzDoc: RouteDoc = {
  summary: 'Readiness',
  description:
    'Ready when Redis answers and a generation of the read model is active; HTTP 503 (errCode 503) otherwise, ' +
    'and while the server is under pressure or shutting down.',
  tags: ['operations'],
  headers: 'none',
  data: z.object({ status: z.literal('ready'), generation: z.number().int() }),
  httpErrors: [503],
};

const metricsDoc: RouteDoc = {
  summary: 'Prometheus metrics',
  description:
    'imgroups_http_request_duration_seconds{route,errCode}, imgroups_http_requests_in_flight, ' +
    'imgroups_redis_errors_total{kind}, and the Node.js process metrics. Never shed under pressure.',
  tags: ['operations'],
  headers: 'none',
  produces: { contentType: 'text/plain; version=0.0.4', description: 'Prometheus text exposition format' },
};

/** Liveness, readiness and metrics: no token, never rate limited. */
export function registerOperationRoutes(
  app: FastifyInstance,
  { readModel, metrics, redisFailure }: { readModel: ReadModel; metrics: ApiMetrics; redisFailure: (err: unknown) => unknown },
): void {
  app.get('/healthz', { config: { openapi: healthzDoc, rateLimit: false, pressureHandler: neverShed } }, async (_request, reply) => {
    reply.header('content-type', JSON_CONTENT_TYPE);
    return okEnvelope({ status: 'ok' });
  });

  app.get('/readyz', { config: { openapi: readyzDoc, rateLimit: false } }, async (_request, reply) => {
    let generation;
    try {
      generation = await readModel.generations.active();
    } catch (err) {
      redisFailure(err);
      throw new CodeError(ErrCode.ServiceUnavailable, 'redis is unreachable');
    }
    if (generation === null) {
      throw new CodeError(ErrCode.ServiceUnavailable, 'no generation of the read model is active yet');
    }
    reply.header('content-type', JSON_CONTENT_TYPE);
    return okEnvelope({ status: 'ready', generation });
  });

  app.get('/metrics', { config: { openapi: metricsDoc, rateLimit: false, pressureHandler: neverShed } }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
