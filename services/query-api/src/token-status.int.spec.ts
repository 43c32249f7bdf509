import { openImTokenStatusKey } from '@imgroups/read-model';
import { delEach } from '@imgroups/read-model/test-redis';
import { openImToken, uniqueId } from '@imgroups/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, SECRET, send, World } from './test-helpers.js';

/**
 * TOKEN_STATUS_CHECK: OpenIM's own record of a user's tokens, read from
 * OpenIM's Redis (`UID_PID_TOKEN_STATUS:{userID}:{platformName}`, token ->
 * status), so a token OpenIM kicked stops working here too. Upstream's
 * decision (auth parseToken): 0 valid, 2 -> 1506, any other status -> 1505,
 * no entry for the token -> 1507; admins are not checked.
 */
const world = new World();
let checked: FastifyInstance;
const statusKeys: string[] = [];

beforeAll(async () => {
  await world.start();
  checked = await world.app({ TOKEN_STATUS_CHECK: 'true' });
});
afterAll(async () => {
  await delEach(world.openImRedis, statusKeys);
  await world.stop();
});

/** A user, a token of theirs on `platformID`, and that platform's status hash key. */
function arrange(platformID = 1, platformName = 'IOS') {
  const userID = uniqueId('u');
  const token = openImToken(SECRET, userID, { platformID });
  const key = openImTokenStatusKey(userID, platformName);
  statusKeys.push(key);
  return { userID, token, key };
}

const list = (app: FastifyInstance, userID: string, token: string) =>
  send(app, {
    method: 'POST',
    url: '/group/get_joined_group_list',
    headers: { operationID: uniqueId('op'), token },
    payload: { fromUserID: userID, pagination: { pageNumber: 1, showNumber: 10 } },
  });

describe('with TOKEN_STATUS_CHECK=true', () => {
  it('accepts a token whose status is 0 (normal)', async () => {
    const { userID, token, key } = arrange();
    await world.openImRedis.hset(key, token, '0');
    expect((await list(checked, userID, token)).body).toMatchObject({ errCode: 0, data: { total: 0 } });
  });

  it('stops a token the moment OpenIM marks it kicked (2): 1506 TokenKicked', async () => {
    const { userID, token, key } = arrange();
    await world.openImRedis.hset(key, token, '0');
    expect((await list(checked, userID, token)).body.errCode).toBe(0);
    await world.openImRedis.hset(key, token, '2');
    const res = await list(checked, userID, token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ errCode: 1506, errMsg: 'TokenKickedError', errDlt: 'token was kicked' });
  });

  it.each([
    ['1 (invalid)', '1'],
    ['3 (expired)', '3'],
    ['any other number', '7'],
  ])('answers a token whose status is %s with 1505 TokenUnknown, as upstream', async (_case, status) => {
    const { userID, token, key } = arrange();
    await world.openImRedis.hset(key, token, status);
    expect((await list(checked, userID, token)).body).toEqual({
      errCode: 1505,
      errMsg: 'TokenUnknownError',
      errDlt: `token is no longer valid, status=${status}`,
    });
  });

  it('answers 1507 TokenNotExist when the user has tokens on that platform but not this one', async () => {
    const { userID, token, key } = arrange();
    await world.openImRedis.hset(key, openImToken(SECRET, userID, { nowSeconds: 1_000 }), '0');
    expect((await list(checked, userID, token)).body.errCode).toBe(1507);
  });

  it('answers 1507 TokenNotExist when the user has no token record at all', async () => {
    const { userID, token } = arrange();
    expect((await list(checked, userID, token)).body).toEqual({
      errCode: 1507,
      errMsg: 'TokenNotExistError',
      errDlt: "token is not among the user's tokens",
    });
  });

  it('looks in the hash of the token\'s own platform, by upstream\'s platform name', async () => {
    const { userID, token, key } = arrange(8, 'APad');
    // The same token registered under another platform's name does not count.
    const web = openImTokenStatusKey(userID, 'Web');
    statusKeys.push(web);
    await world.openImRedis.hset(web, token, '0');
    expect((await list(checked, userID, token)).body.errCode).toBe(1507);
    await world.openImRedis.hset(key, token, '0');
    expect((await list(checked, userID, token)).body.errCode).toBe(0);
  });

  it('does not check admin tokens (they are in no hash), as upstream', async () => {
    const user = uniqueId('u');
    const res = await list(checked, user, openImToken(SECRET, ADMIN, { platformID: 10 }));
    expect(res.body).toMatchObject({ errCode: 0, data: { total: 0 } });
  });

  it('checks the token before the body, like the other token errors', async () => {
    const { token } = arrange();
    const res = await send(checked, {
      method: 'POST',
      url: '/group/get_groups_info',
      headers: { operationID: 'op', token, 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(res.body.errCode).toBe(1507);
  });

  it('answers 500 (no detail) when the status is not an integer, as upstream fails to parse it', async () => {
    const { userID, token, key } = arrange();
    await world.openImRedis.hset(key, token, 'kicked');
    expect((await list(checked, userID, token)).raw).toBe('{"errCode":500,"errMsg":"ServerInternalError","errDlt":""}');
  });

  it('reads the status from the Redis given as tokenStatusRedis (TOKEN_STATUS_REDIS_URL), not the read model\'s', async () => {
    const openImRedis = new Redis(world.redisUrl, { db: 1 }); // OpenIM's own Redis: the one Redis, also with TEST_REDIS=cluster
    const elsewhere = await world.app({ TOKEN_STATUS_CHECK: 'true' }, { tokenStatusRedis: openImRedis });
    const { userID, token, key } = arrange();
    try {
      await world.openImRedis.hset(key, token, '0');
      expect((await list(elsewhere, userID, token)).body.errCode).toBe(1507);
      await openImRedis.hset(key, token, '0');
      expect((await list(elsewhere, userID, token)).body.errCode).toBe(0);
    } finally {
      await openImRedis.del(key);
      await elsewhere.close();
      await openImRedis.quit();
    }
  });
});

describe('with TOKEN_STATUS_CHECK off (the default)', () => {
  it('accepts a valid token that OpenIM has no record of, and even one marked kicked', async () => {
    const unchecked = await world.app();
    const { userID, token, key } = arrange();
    expect((await list(unchecked, userID, token)).body.errCode).toBe(0);
    await world.openImRedis.hset(key, token, '2');
    expect((await list(unchecked, userID, token)).body.errCode).toBe(0);
  });
});
