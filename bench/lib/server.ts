/**
 * The bench's own server, a process beside the query API:
 *   node --conditions=source --import tsx bench/lib/server.ts <setup.json>
 *
 * Same Fastify options as the query API (fastify-options.ts reads them from
 * the product), same logger (level, redaction) and log controller as app.ts,
 * but none of the product's hooks or plugins. Routes:
 *
 *   POST /bench/static/:name   a pre-serialized body (a Buffer), sent as is: the HTTP ceiling
 *   POST /bench/upstream       upstream's way: the user's whole joined-ID list is
 *                              one cached JSON string; GET it, JSON.parse it,
 *                              slice the page, MGET the page's groups, answer
 *                              (on a Cluster one MGET per slot, pipelined per
 *                              node: read-model getMany, as the product reads cards)
 *
 * Configuration comes from the config module like the services' (REDIS_URL
 * or REDIS_CLUSTER_NODES, API_HOST, API_PORT, LOG_LEVEL, REDIS_KEY_PREFIX); the bodies and options
 * from the setup file the driver wrote.
 */
import { readFileSync } from 'node:fs';
import { loadConfigOrExit } from '@imgroups/config';
import { createRedis } from '@imgroups/query-api';
import { getMany, isCluster, keyspace } from '@imgroups/read-model';
import Fastify, { LogController, type FastifyServerOptions } from 'fastify';
import { upstreamJoinedKey } from './workload.js';

export interface BenchServerSetup {
  /** Fastify options of the product (fastify-options.ts). */
  options: Record<string, unknown>;
  /** Static bodies by name. */
  statics: Record<string, string>;
  /** The generation whose cards the upstream route reads. */
  generation: number;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

const config = loadConfigOrExit(process.env, 'bench-server');
const setup = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BenchServerSetup;
const redis = createRedis(config);
const keys = keyspace(config.REDIS_KEY_PREFIX);

const app = Fastify({
  ...(setup.options as FastifyServerOptions),
  // As app.ts: pino at LOG_LEVEL with the token redacted; fastify's own request lines off.
  logger: { level: config.LOG_LEVEL, redact: { paths: ['req.headers.token', 'headers.token'], censor: '[redacted]' } },
  logController: new LogController({ requestIdLogLabel: 'operationID', disableRequestLogging: true }),
});

// Sent as Buffers, as the product sends its pages (the same body as a string measured the same).
for (const [name, text] of Object.entries(setup.statics)) {
  const body = Buffer.from(text);
  app.post(`/bench/static/${name}`, async (_request, reply) => {
    reply.header('content-type', JSON_CONTENT_TYPE);
    return body;
  });
}

interface PageRequest {
  fromUserID: string;
  pagination: { pageNumber: number; showNumber: number };
}

app.post('/bench/upstream', async (request, reply) => {
  const { fromUserID, pagination } = request.body as PageRequest;
  const cached = await redis.get(upstreamJoinedKey(config.REDIS_KEY_PREFIX, fromUserID));
  const ids = cached === null ? [] : (JSON.parse(cached) as string[]);
  const start = (pagination.pageNumber - 1) * pagination.showNumber;
  const page = ids.slice(start, start + pagination.showNumber);
  const cardKeys = page.map((id) => keys.entity('groupCard', setup.generation, id));
  // A Cluster refuses one MGET of keys in many slots.
  const cards = cardKeys.length === 0 ? [] : isCluster(redis) ? await getMany(redis, cardKeys) : await redis.mget(cardKeys);
  reply.header('content-type', JSON_CONTENT_TYPE);
  return `{"errCode":0,"errMsg":"","errDlt":"","data":{"total":${ids.length},"groups":[${cards.filter((c) => c !== null).join(',')}]}}`;
});

// Nothing to drain here: when the driver is done, stop at once (a CPU profile is still written on exit).
process.once('SIGTERM', () => {
  redis.disconnect();
  process.exit(0);
});
await app.listen({ host: config.API_HOST, port: config.API_PORT });
