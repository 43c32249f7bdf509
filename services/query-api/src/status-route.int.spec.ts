import { loadConfig, type Config } from '@imgroups/config';
import { ErrCode } from '@imgroups/contracts';
import { acquireRebuildLock, Generations, type RedisClient } from '@imgroups/read-model';
import { testRedis, unlinkMatching } from '@imgroups/read-model/test-redis';
import { freePort } from '@imgroups/devenv';
import { leaseTopics, openImToken, redisVars, testKafka, uniqueId } from '@imgroups/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { build } from './app.js';

/**
 * GET /status through inject(): admins only, the same data as `pnpm status`
 * (packages/ops), high watermarks from the suite's broker, and an answer
 * even when Kafka is unreachable.
 */

const SECRET = 'status-secret';
const env = inject('testEnv');
let redis: RedisClient;
const apps: FastifyInstance[] = [];
const roots: string[] = [];

beforeAll(() => {
  redis = testRedis(env);
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  for (const root of roots) await unlinkMatching(redis, `${root}:*`);
  await redis.quit();
});

async function appFor(overrides: Record<string, string>): Promise<{ app: FastifyInstance; config: Config; gens: Generations }> {
  const root = uniqueId('st');
  roots.push(root);
  const config = loadConfig({
    ...redisVars(env),
    REDIS_KEY_PREFIX: root,
    KAFKA_BROKERS: env.kafkaBrokers.join(','),
    LOG_LEVEL: 'silent',
    OPENIM_SECRET: SECRET,
    ADMIN_USER_IDS: 'imAdmin',
    ...overrides,
  });
  const app = await build({ config, redis, logger: false });
  apps.push(app);
  return { app, config, gens: new Generations(redis, root) };
}

const get = (app: FastifyInstance, userID?: string) =>
  app.inject({
    method: 'GET',
    url: '/status',
    headers: { operationID: uniqueId('op'), ...(userID ? { token: openImToken(SECRET, userID) } : {}) },
  });

describe('GET /status', () => {
  it('answers admins only', async () => {
    const { app } = await appFor({});
    expect((await get(app)).json()).toMatchObject({ errCode: ErrCode.Args, errDlt: 'header must have token' });
    expect((await get(app, 'someUser')).json()).toMatchObject({ errCode: ErrCode.NoPermission });
    expect((await get(app, 'imAdmin')).json()).toMatchObject({ errCode: 0 });
  });

  it('reports the active generation with per-partition lag and a running rebuild with its progress and lock holder', async () => {
    const topics = await leaseTopics(env);
    const { app, gens } = await appFor({ EVENTS_TOPIC: topics.events, CONSUMER_GROUP: 'status-live' });
    const producer = testKafka(env.kafkaBrokers).producer();
    await producer.connect();
    await producer.send({ topic: topics.events, acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `m${i}` })) });
    await producer.disconnect();

    await gens.ensureActive();
    await redis.hset(gens.keys.checkpoints(1), { 0: '3' });
    await gens.startRebuild({ generation: 2, consumerGroup: 'status-live-rebuild-2', startedAt: 1_800_000_000_000 });
    await redis.hset(gens.keys.checkpoints(2), { 0: '1' });
    await gens.retire('verify-old');
    const lock = await acquireRebuildLock(redis, gens.keys.root, { token: 't', host: 'ops-box', pid: 99, startedAt: 1_800_000_000_000 });

    const res = await get(app, 'imAdmin');
    const data = (res.json() as { data: Record<string, unknown> }).data;
    expect(data).toMatchObject({
      topic: topics.events,
      active: {
        generation: 1,
        consumerGroup: 'status-live',
        lag: 1,
        partitions: [
          { partition: 0, applied: 3, highWatermark: 5, lag: 1 },
          { partition: 1, applied: null, highWatermark: 0, lag: 0 },
          { partition: 2, applied: null, highWatermark: 0, lag: 0 },
          { partition: 3, applied: null, highWatermark: 0, lag: 0 },
        ],
      },
      rebuild: {
        generation: 2,
        status: 'running',
        consumerGroup: 'status-live-rebuild-2',
        applied: 2,
        total: 5,
        progress: 0.4,
        lock: { holder: { host: 'ops-box', pid: 99 } },
      },
      pendingDeletion: ['verify-old'],
      kafka: { ok: true },
    });
    if (lock.ok) await lock.lock.release();
  });

  it('still answers with the Redis-side figures when Kafka is unreachable', async () => {
    const { app, gens } = await appFor({ KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    await gens.ensureActive();
    const started = Date.now();
    const body = (await get(app, 'imAdmin')).json() as { errCode: number; data: Record<string, unknown> };
    expect(Date.now() - started).toBeLessThan(8000);
    expect(body.errCode).toBe(0);
    expect(body.data).toMatchObject({ active: { generation: 1, lag: null }, rebuild: null, kafka: { ok: false } });
  });
});
