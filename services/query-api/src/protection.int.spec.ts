import { uniqueId, waitFor } from '@imgroups/testing';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, post, send, World } from './test-helpers.js';

/**
 * Rate limiting (@fastify/rate-limit): off unless RATE_LIMIT_MAX is set; then
 * keyed by the token's UserID (IM clients share NAT addresses), admins exempt,
 * HTTP 429 with errCode 429. Load shedding (@fastify/under-pressure): HTTP 503
 * with the envelope while the event loop lags past MAX_EVENT_LOOP_DELAY_MS.
 */
const world = new World();
beforeAll(() => world.start());
afterAll(() => world.stop());

const list = (userID: string, as = userID, remoteAddress = '127.0.0.1'): InjectOptions => ({
  ...post('/group/get_joined_group_list', { fromUserID: userID, pagination: { pageNumber: 1, showNumber: 1 } }, as),
  remoteAddress,
});
const groupsInfo = (as: string): InjectOptions => post('/group/get_groups_info', { groupIDs: ['g1'] }, as);

describe('rate limiting', () => {
  it('is off by default: the plugin is not even registered, no rate-limit headers', async () => {
    const app = await world.app();
    expect(app.hasPlugin('@fastify/rate-limit')).toBe(false);
    const res = await send(app, list(uniqueId('u')));
    expect(res.body.errCode).toBe(0);
    expect(res.headers).not.toHaveProperty('x-ratelimit-limit');
  });

  describe('with RATE_LIMIT_MAX=3 per minute', () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      app = await world.app({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' });
    });

    it('answers a user\'s 4th request in the window with HTTP 429, errCode 429 and Retry-After', async () => {
      const user = uniqueId('u');
      for (let i = 0; i < 3; i++) expect((await send(app, list(user))).body.errCode).toBe(0);
      const limited = await send(app, list(user));
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({
        errCode: 429,
        errMsg: 'TooManyRequests',
        errDlt: expect.stringMatching(/^too many requests, limit=3, windowMs=60000, retryAfterSeconds=\d+$/),
      });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('keys by the token\'s UserID: users behind one address each get their own budget', async () => {
      const [a, b] = [uniqueId('a'), uniqueId('b')];
      for (let i = 0; i < 3; i++) await send(app, list(a));
      expect((await send(app, list(a))).status).toBe(429);
      expect((await send(app, list(b))).body.errCode).toBe(0);
    });

    it('follows a user across addresses and across the group routes (one budget per user)', async () => {
      const user = uniqueId('u');
      await send(app, list(user, user, '10.0.0.1'));
      await send(app, list(user, user, '10.0.0.2'));
      await send(app, groupsInfo(user));
      expect((await send(app, list(user, user, '10.0.0.3'))).status).toBe(429);
    });

    it('exempts admin tokens', async () => {
      for (let i = 0; i < 10; i++) expect((await send(app, list(uniqueId('u'), ADMIN))).body.errCode).toBe(0);
    });

    it('does not limit the routes without a token (admin token, health, readiness, metrics)', async () => {
      for (let i = 0; i < 5; i++) {
        expect((await send(app, { method: 'GET', url: '/healthz' })).status).toBe(200);
        expect((await send(app, { method: 'GET', url: '/readyz' })).status).toBe(200);
        expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
        const token = await send(app, { method: 'POST', url: '/auth/get_admin_token', headers: { operationID: 'op' }, payload: { secret: 'nope', userID: ADMIN } });
        expect(token.body.errCode).toBe(1002);
      }
    });
  });

  it('lets a user through again once the window has passed', async () => {
    const app = await world.app({ RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW_MS: '300' });
    const user = uniqueId('u');
    expect((await send(app, list(user))).status).toBe(200);
    expect((await send(app, list(user))).status).toBe(429);
    await waitFor(async () => (await send(app, list(user))).status === 200, { timeoutMs: 5000, message: 'allowed after the window' });
  });
});

describe('load shedding', () => {
  /** Keeps the event loop busy in 100 ms slices (a lag of ~100 ms per turn) until stopped. */
  function lagTheEventLoop() {
    let running = true;
    const spin = () => {
      if (!running) return;
      const until = Date.now() + 100;
      while (Date.now() < until) {
        // busy: this is the lag under test
      }
      setTimeout(spin, 1);
    };
    spin();
    return () => {
      running = false;
    };
  }

  it('answers HTTP 503 with the envelope while the event loop lags, keeps /healthz and /metrics up, and recovers', async () => {
    const app = await world.app({ MAX_EVENT_LOOP_DELAY_MS: '40' });
    const user = uniqueId('u');
    expect((await send(app, list(user))).status).toBe(200);
    const stop = lagTheEventLoop();
    try {
      const shed = await waitFor(
        async () => {
          const res = await send(app, list(user));
          return res.status === 503 ? res : undefined;
        },
        { timeoutMs: 15_000, message: 'a 503 while lagging' },
      );
      expect(shed.body).toEqual({ errCode: 503, errMsg: 'ServiceUnavailable', errDlt: 'server is under pressure, retry later' });
      expect(shed.headers['retry-after']).toBe('1');
      expect((await send(app, { method: 'GET', url: '/readyz' })).status).toBe(503);
      expect((await send(app, { method: 'GET', url: '/healthz' })).status).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    } finally {
      stop();
    }
    await waitFor(async () => (await send(app, list(user))).status === 200, { timeoutMs: 15_000, message: 'served again after the lag' });
  });

  it('is off with MAX_EVENT_LOOP_DELAY_MS=0', async () => {
    const app = await world.app({ MAX_EVENT_LOOP_DELAY_MS: '0' });
    expect(app.hasPlugin('@fastify/under-pressure')).toBe(false);
    const on = await world.app();
    expect(on.hasPlugin('@fastify/under-pressure')).toBe(true);
  });
});
