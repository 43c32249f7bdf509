import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from './app.js';
import { createRedis } from './redis.js';
import { headersFor, listRequest, logCapture, send, World } from './test-helpers.js';

/**
 * What the app answers around its routes: health, unknown routes, Redis
 * unreachable (500 at once, the stack logged and never the token), and new
 * requests while shutting down (503).
 */
const world = new World();
const config = world.config();
let app: FastifyInstance;

beforeAll(async () => {
  await world.start();
  app = await world.app();
});
afterAll(() => world.stop());

describe('other routes', () => {
  it('GET /healthz answers the envelope with status ok, no headers needed', async () => {
    const res = await send(app, { method: 'GET', url: '/healthz' });
    expect(res.status).toBe(200);
    expect(res.raw).toBe('{"errCode":0,"errMsg":"","errDlt":"","data":{"status":"ok"}}');
  });

  it.each([
    ['an unknown path', 'POST', '/group/get_everything'],
    ['a known path with the wrong method', 'GET', '/group/get_joined_group_list'],
  ])('answers %s with HTTP 404 and errCode 1004', async (_case, method, url) => {
    const res = await send(app, { method: method as 'GET' | 'POST', url, headers: headersFor('u1') });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errCode: 1004, errMsg: 'RecordNotFoundError', errDlt: 'route not found' });
  });
});

// ---- failure paths -----------------------------------------------------------

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('when Redis is unreachable', () => {
  it('answers 500 ServerInternalError at once, with no stack or internal detail (offline queue off)', async () => {
    const port = await closedPort();
    const deadRedis = new Redis(`redis://127.0.0.1:${port}`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    deadRedis.on('error', () => {});
    const deadApp = await build({ config: world.config({ REDIS_URL: `redis://127.0.0.1:${port}` }), redis: deadRedis });
    try {
      const res = await send(deadApp, listRequest('u1', 1, 10));
      expect(res.status).toBe(200);
      expect(res.raw).toBe('{"errCode":500,"errMsg":"ServerInternalError","errDlt":""}');
    } finally {
      await deadApp.close();
      deadRedis.disconnect();
    }
  });

  it('answers 500 within the command timeout with the production client, logs the stack, never the token', async () => {
    const port = await closedPort();
    const deadConfig = world.config({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: '200' });
    const deadRedis = createRedis(deadConfig);
    deadRedis.on('error', () => {});
    const logs = logCapture();
    const deadApp = await build({ config: deadConfig, redis: deadRedis, logger: logs.logger });
    try {
      const request = listRequest('u1', 1, 10);
      const started = Date.now();
      const res = await send(deadApp, request);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(res.raw).toBe('{"errCode":500,"errMsg":"ServerInternalError","errDlt":""}');

      const failure = logs.lines.find((l) => l.level === 50);
      expect(failure?.err?.stack).toMatch(/\n\s+at /);
      const operationID = (request.headers as Record<string, string>).operationID;
      expect(failure?.operationID).toBe(operationID);
      const token = (request.headers as Record<string, string>).token!;
      expect(JSON.stringify(logs.lines)).not.toContain(token);
    } finally {
      await deadApp.close();
      deadRedis.disconnect();
    }
  });
});

describe('while shutting down', () => {
  it('answers new requests with HTTP 503 and the envelope', async () => {
    const closing = await build({ config, redis: world.redis });
    let release!: () => void;
    let entered!: () => void;
    const inPreClose = new Promise<void>((resolve) => (entered = resolve));
    // Hold the close between "closing" and "server stopped" to send a request in that window.
    closing.addHook('preClose', (done) => {
      entered();
      release = done;
    });
    await closing.listen({ host: '127.0.0.1', port: 0 });
    const { port } = closing.server.address() as { port: number };
    const closed = closing.close();
    await inPreClose;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ errCode: 503, errMsg: 'ServiceUnavailable', errDlt: 'server is shutting down' });
    } finally {
      release();
      await closed;
    }
  });
});
