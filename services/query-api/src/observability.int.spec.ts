import { createServer, type Server, type Socket } from 'node:net';
import { uniqueId, waitFor } from '@imgroups/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headersFor, logCapture, post, send, World } from './test-helpers.js';
import { createRedis, createSingleRedis } from './redis.js';

/**
 * What an operator sees: /healthz (the process), /readyz (Redis answers and a
 * generation is active), /metrics (Prometheus: latency by route and errCode,
 * Redis errors, in-flight requests) and the access log: one pino JSON line
 * per request, never the token.
 */
const world = new World();
beforeAll(() => world.start());
afterAll(() => world.stop());

const listBody = (fromUserID: string) => ({ fromUserID, pagination: { pageNumber: 1, showNumber: 10 } });

/** A TCP server that accepts connections and never answers: Redis commands hang until their timeout. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The value of one sample line of the Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const [, rest] = line.split(name);
    const m = /^(?:\{([^}]*)\})? (\S+)$/.exec(rest ?? '');
    if (!m) continue;
    const got = (m[1] ?? '').split(',').filter(Boolean);
    if (want.every((w) => got.includes(w)) && got.length === want.length) return Number(m[2]);
  }
  return undefined;
}

const scrape = async (app: FastifyInstance) => (await app.inject({ method: 'GET', url: '/metrics' })).body;

describe('GET /readyz', () => {
  it('is ready, naming the active generation, when Redis answers and a generation is active', async () => {
    const app = await world.app();
    const res = await send(app, { method: 'GET', url: '/readyz' });
    expect(res.status).toBe(200);
    expect(res.raw).toBe(`{"errCode":0,"errMsg":"","errDlt":"","data":{"status":"ready","generation":${world.gen}}}`);
  });

  it('answers HTTP 503 with the envelope while no generation is active', async () => {
    const app = await world.app({ REDIS_KEY_PREFIX: uniqueId('empty') });
    const res = await send(app, { method: 'GET', url: '/readyz' });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ errCode: 503, errMsg: 'ServiceUnavailable', errDlt: 'no generation of the read model is active yet' });
  });

  it('answers HTTP 503 while Redis does not answer, and /healthz stays 200', async () => {
    const silent = await silentServer();
    const config = world.config({ REDIS_URL: `redis://127.0.0.1:${silent.port}`, REDIS_COMMAND_TIMEOUT_MS: '100' });
    const deadRedis = createRedis(config);
    deadRedis.on('error', () => {});
    const app = await world.app({}, { config, redis: deadRedis });
    try {
      const res = await send(app, { method: 'GET', url: '/readyz' });
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ errCode: 503, errMsg: 'ServiceUnavailable', errDlt: 'redis is unreachable' });
      expect((await send(app, { method: 'GET', url: '/healthz' })).status).toBe(200);
    } finally {
      await app.close();
      deadRedis.disconnect();
      await silent.close();
    }
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus text format with the latency histogram by route and errCode', async () => {
    const app = await world.app();
    const user = uniqueId('u');
    for (let i = 0; i < 3; i++) await send(app, post('/group/get_joined_group_list', listBody(user), user));
    await send(app, post('/group/get_joined_group_list', listBody(''), user));
    await send(app, { method: 'POST', url: '/nowhere' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    const count = (route: string, errCode: string) => sample(text, 'imgroups_http_request_duration_seconds_count', { route, errCode });
    expect(count('/group/get_joined_group_list', '0')).toBe(3);
    expect(count('/group/get_joined_group_list', '1001')).toBe(1);
    expect(count('not_found', '1004')).toBe(1);
    expect(sample(text, 'imgroups_http_request_duration_seconds_bucket', { route: '/group/get_joined_group_list', errCode: '0', le: '+Inf' })).toBe(3);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('counts requests in flight: a request waiting on Redis shows until it is answered', async () => {
    const silent = await silentServer();
    const config = world.config({ TOKEN_STATUS_CHECK: 'true', REDIS_COMMAND_TIMEOUT_MS: '1000' });
    const statusRedis = createSingleRedis(config, `redis://127.0.0.1:${silent.port}`);
    statusRedis.on('error', () => {});
    const app = await world.app({}, { config, tokenStatusRedis: statusRedis });
    try {
      const inFlight = async () => sample(await scrape(app), 'imgroups_http_requests_in_flight');
      expect(await inFlight()).toBe(1); // the scrape itself
      const user = uniqueId('u');
      const pending = send(app, post('/group/get_joined_group_list', listBody(user), user));
      await waitFor(async () => (await inFlight()) === 2, { timeoutMs: 5000, message: 'the waiting request in flight' });
      expect((await pending).body.errCode).toBe(500);
      expect(await inFlight()).toBe(1);
    } finally {
      await app.close();
      statusRedis.disconnect();
      await silent.close();
    }
  });

  it('counts Redis failures: a command that fails while serving, and connection errors', async () => {
    const silent = await silentServer();
    const port = silent.port;
    await silent.close(); // nothing listens there now
    const config = world.config({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: '200' });
    const deadRedis = createRedis(config);
    const app = await world.app({}, { config, redis: deadRedis });
    try {
      const before = await scrape(app);
      expect(sample(before, 'imgroups_redis_errors_total', { kind: 'command' })).toBe(0);
      const user = uniqueId('u');
      expect((await send(app, post('/group/get_joined_group_list', listBody(user), user))).body.errCode).toBe(500);
      const after = await scrape(app);
      expect(sample(after, 'imgroups_redis_errors_total', { kind: 'command' })).toBe(1);
      await waitFor(async () => (sample(await scrape(app), 'imgroups_redis_errors_total', { kind: 'connection' }) ?? 0) > 0, {
        timeoutMs: 5000,
        message: 'connection errors counted',
      });
    } finally {
      await app.close();
      deadRedis.disconnect();
    }
  });
});

describe('the access log', () => {
  it('writes one JSON line per request with operationID, caller, fromUserID, errCode and latency, never the token', async () => {
    const logs = logCapture('info');
    const app = await world.app({ LOG_LEVEL: 'info' }, { logger: logs.logger });
    const user = uniqueId('u');
    const ok = post('/group/get_joined_group_list', listBody(user), user);
    const refused = post('/group/get_joined_group_list', listBody(uniqueId('other')), user);
    await send(app, ok);
    await send(app, refused);
    await send(app, { method: 'GET', url: '/healthz' });
    const requestLines = logs.lines.filter((l) => l.msg === 'request' || l.msg === 'request failed');
    expect(requestLines).toHaveLength(3);
    expect(logs.lines).toHaveLength(3); // nothing else per request (no fastify "incoming request" lines)
    const [first, second, third] = requestLines;
    expect(first).toMatchObject({
      level: 30,
      operationID: (ok.headers as Record<string, string>).operationID,
      method: 'POST',
      route: '/group/get_joined_group_list',
      status: 200,
      errCode: 0,
      caller: user,
      fromUserID: user,
    });
    expect(typeof first!.latencyMs).toBe('number');
    expect(second).toMatchObject({ errCode: 1002, errDlt: expect.stringContaining('only the user or an admin'), caller: user });
    expect(third).toMatchObject({ route: '/healthz', errCode: 0, caller: '' });
    const all = JSON.stringify(logs.lines);
    expect(all).not.toContain((ok.headers as Record<string, string>).token);
    expect(all).not.toContain((refused.headers as Record<string, string>).token);
  });

  it('logs a 500 at error level with its stack even at LOG_LEVEL=warn, and nothing for the rest', async () => {
    const silent = await silentServer();
    const port = silent.port;
    await silent.close();
    const config = world.config({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: '200', LOG_LEVEL: 'warn' });
    const deadRedis = createRedis(config);
    deadRedis.on('error', () => {});
    const logs = logCapture('warn');
    const app = await world.app({}, { config, redis: deadRedis, logger: logs.logger });
    try {
      await send(app, { method: 'GET', url: '/healthz' });
      const failing = post('/group/get_joined_group_list', listBody('u1'), 'u1');
      expect((await send(app, failing)).body.errCode).toBe(500);
      expect(logs.lines).toHaveLength(1);
      expect(logs.lines[0]).toMatchObject({ level: 50, msg: 'request failed', errCode: 500, caller: 'u1', fromUserID: 'u1' });
      expect(logs.lines[0]!.err.stack).toMatch(/\n\s+at /);
      expect(JSON.stringify(logs.lines)).not.toContain((failing.headers as Record<string, string>).token);
    } finally {
      await app.close();
      deadRedis.disconnect();
    }
  });

  it('writes nothing per request at LOG_LEVEL=warn when all goes well', async () => {
    const logs = logCapture('warn');
    const app = await world.app({ LOG_LEVEL: 'warn' }, { logger: logs.logger });
    await send(app, { method: 'POST', url: '/group/get_joined_group_list', headers: headersFor('u1'), payload: listBody('u1') });
    await send(app, { method: 'POST', url: '/group/get_joined_group_list', headers: headersFor('u1'), payload: listBody('') });
    expect(logs.lines).toEqual([]);
  });
});

describe('GET /healthz', () => {
  it('answers the envelope with status ok, whatever Redis does', async () => {
    const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    dead.on('error', () => {});
    const app = await world.app({}, { redis: dead });
    const res = await send(app, { method: 'GET', url: '/healthz' });
    expect(res.raw).toBe('{"errCode":0,"errMsg":"","errDlt":"","data":{"status":"ok"}}');
  });
});
