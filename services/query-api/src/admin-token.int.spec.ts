import { uniqueId } from '@imgroups/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, SECRET, send, World } from './test-helpers.js';

/**
 * POST /auth/get_admin_token through inject(): the token it mints reads any
 * list; a wrong secret, a non-admin, unknown fields and a missing operationID
 * are refused.
 */
const world = new World();
const config = world.config();
let app: FastifyInstance;

beforeAll(async () => {
  await world.start();
  app = await world.app();
});
afterAll(() => world.stop());

describe('POST /auth/get_admin_token', () => {
  const adminToken = (payload: object, hdrs: Record<string, string> = { operationID: 'op' }) =>
    send(app, { method: 'POST', url: '/auth/get_admin_token', headers: hdrs, payload });

  it('mints an admin token (PlatformID 10, TOKEN_EXPIRE_DAYS) that reads any list', async () => {
    const res = await adminToken({ secret: SECRET, userID: ADMIN });
    expect(res.body.errCode).toBe(0);
    expect(Object.keys(res.body.data)).toEqual(['token', 'expireTimeSeconds']);
    expect(res.body.data.expireTimeSeconds).toBe(config.TOKEN_EXPIRE_DAYS * 86400);
    const claims = JSON.parse(Buffer.from(res.body.data.token.split('.')[1], 'base64url').toString());
    expect(Object.keys(claims)).toEqual(['UserID', 'PlatformID', 'exp', 'nbf', 'iat']);
    expect(claims).toMatchObject({ UserID: ADMIN, PlatformID: 10 });
    expect(claims.exp - claims.iat).toBe(config.TOKEN_EXPIRE_DAYS * 86400);

    const user = uniqueId('u');
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 1 }]);
    const list = await send(app, {
      method: 'POST',
      url: '/group/get_joined_group_list',
      headers: { operationID: 'op', token: res.body.data.token },
      payload: { fromUserID: user, pagination: { pageNumber: 1, showNumber: 10 } },
    });
    expect(list.body.data.total).toBe(1);
  });

  it('refuses a wrong secret with 1002', async () => {
    const res = await adminToken({ secret: 'not-the-secret', userID: ADMIN });
    expect(res.body).toEqual({ errCode: 1002, errMsg: 'NoPermissionError', errDlt: 'secret invalid' });
  });

  it('refuses a userID that is not an admin with 1001', async () => {
    const res = await adminToken({ secret: SECRET, userID: 'someone' });
    expect(res.body).toEqual({ errCode: 1001, errMsg: 'ArgsError', errDlt: 'userID is not an admin, userID=someone' });
  });

  it('rejects unknown fields', async () => {
    const res = await adminToken({ secret: SECRET, userID: ADMIN, platformID: 10 });
    expect(res.body).toEqual({ errCode: 1001, errMsg: 'ArgsError', errDlt: 'platformID: unknown field' });
  });

  it('requires operationID like every API call', async () => {
    const res = await adminToken({ secret: SECRET, userID: ADMIN }, {});
    expect(res.body).toEqual({ errCode: 1001, errMsg: 'ArgsError', errDlt: 'header must have operationID' });
  });
});
