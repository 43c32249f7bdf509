import { ErrCode, GROUP_INFO_FIELDS, NUMERIC_GROUP_FIELDS } from '@imgroups/contracts';
import { ev, openImToken, uniqueId } from '@imgroups/testing';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from './app.js';
import { headersFor, listRequest, SECRET, send, tokenFor, World } from './test-helpers.js';

/**
 * POST /group/get_joined_group_list through inject(): the page it reads (order,
 * total, every field), the headers it requires first, the body's validation,
 * and who may read whose list. Data goes in through the real apply path.
 */
const world = new World();
const config = world.config();
let app: FastifyInstance;

beforeAll(async () => {
  await world.start();
  app = await world.app();
});
afterAll(() => world.stop());

const ids = (body: Record<string, any>) => (body.data.groups as { groupID: string }[]).map((g) => g.groupID);

async function expectArgsError(opts: InjectOptions, errDlt: string) {
  const res = await send(app, opts);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ errCode: ErrCode.Args, errMsg: 'ArgsError', errDlt });
}

// ---- the contract ----------------------------------------------------------

describe('POST /group/get_joined_group_list: reading', () => {
  it('lists groups by join time ascending, ties by groupID', async () => {
    const user = uniqueId('u');
    const p = uniqueId('g');
    await world.joinGroups(user, [
      { groupID: `${p}a`, joinTime: 2000 },
      { groupID: `${p}c`, joinTime: 1000 },
      { groupID: `${p}b`, joinTime: 1000 },
      { groupID: `${p}d`, joinTime: 1500 },
    ]);
    const res = await send(app, listRequest(user, 1, 10));
    expect(res.body.data.total).toBe(4);
    expect(ids(res.body)).toEqual([`${p}b`, `${p}c`, `${p}d`, `${p}a`]);
  });

  it('reports the full count as total while a page holds showNumber groups', async () => {
    const user = uniqueId('u');
    const p = uniqueId('g');
    await world.joinGroups(user, [1, 2, 3, 4, 5].map((i) => ({ groupID: `${p}${i}`, joinTime: 1000 * i })));
    const pages = await Promise.all([1, 2, 3].map((n) => send(app, listRequest(user, n, 2))));
    expect(pages.map((r) => r.body.data.total)).toEqual([5, 5, 5]);
    expect(pages.map((r) => ids(r.body))).toEqual([[`${p}1`, `${p}2`], [`${p}3`, `${p}4`], [`${p}5`]]);
  });

  it('answers a page past the end with the total and an empty list', async () => {
    const user = uniqueId('u');
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 1 }, { groupID: uniqueId('g'), joinTime: 2 }]);
    const res = await send(app, listRequest(user, 3, 2));
    expect(res.body.data).toEqual({ total: 2, groups: [] });
  });

  it('treats showNumber 0 as valid: no groups, full total', async () => {
    const user = uniqueId('u');
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 1 }, { groupID: uniqueId('g'), joinTime: 2 }]);
    const res = await send(app, listRequest(user, 1, 0));
    expect(res.body).toEqual({ errCode: 0, errMsg: '', errDlt: '', data: { total: 2, groups: [] } });
  });

  it('gives a user in no group total 0 and groups [] (never null)', async () => {
    const res = await send(app, listRequest(uniqueId('u'), 1, 10));
    expect(res.raw).toBe('{"errCode":0,"errMsg":"","errDlt":"","data":{"total":0,"groups":[]}}');
  });

  it('answers HTTP 200 with the envelope fields in order and a JSON content type', async () => {
    const user = uniqueId('u');
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 5 }]);
    const res = await send(app, listRequest(user, 1, 10));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(['errCode', 'errMsg', 'errDlt', 'data']);
    expect(Object.keys(res.body.data)).toEqual(['total', 'groups']);
    expect(res.body).toMatchObject({ errCode: 0, errMsg: '', errDlt: '', data: { total: 1 } });
  });

  it('returns every group field in the contract order, with its wire type and value', async () => {
    const user = uniqueId('u');
    const owner = uniqueId('owner');
    const groupID = uniqueId('g');
    await world.apply(
      ev.created(groupID, { userID: owner, joinTime: 1687753739612 }, [
        { userID: user, joinTime: 1687753740000 },
        { userID: uniqueId('u'), joinTime: 1687753741000 },
      ], {
        groupName: 'Ünïcode "quoted" name',
        notification: 'read the rules',
        introduction: 'intro',
        faceURL: 'https://example.test/f.png',
        ex: '{"k":"v"}',
        needVerification: 2,
        lookMemberInfo: 1,
        applyMemberFriend: 1,
        notificationUpdateTime: 1687753739999,
        notificationUserID: owner,
      }),
    );
    const res = await send(app, listRequest(user, 1, 10));
    const [group] = res.body.data.groups as Record<string, unknown>[];
    expect(Object.keys(group!)).toEqual([...GROUP_INFO_FIELDS]);
    for (const field of GROUP_INFO_FIELDS) {
      expect(typeof group![field], field).toBe(NUMERIC_GROUP_FIELDS.has(field) ? 'number' : 'string');
    }
    expect(group).toEqual({
      groupID,
      groupName: 'Ünïcode "quoted" name',
      notification: 'read the rules',
      introduction: 'intro',
      faceURL: 'https://example.test/f.png',
      ownerUserID: owner,
      createTime: 1687753739612,
      memberCount: 3,
      ex: '{"k":"v"}',
      status: 0,
      creatorUserID: owner,
      groupType: 2,
      needVerification: 2,
      lookMemberInfo: 1,
      applyMemberFriend: 1,
      notificationUpdateTime: 1687753739999,
      notificationUserID: owner,
    });
  });

  it('leaves a dismissed group out of the list and the total', async () => {
    const user = uniqueId('u');
    const kept = uniqueId('g');
    const dismissed = uniqueId('g');
    await world.joinGroups(user, [{ groupID: kept, joinTime: 1 }, { groupID: dismissed, joinTime: 2 }]);
    await world.apply(ev.dismissed(dismissed));
    const res = await send(app, listRequest(user, 1, 10));
    expect(res.body.data.total).toBe(1);
    expect(ids(res.body)).toEqual([kept]);
  });
});

describe('POST /group/get_joined_group_list: headers', () => {
  const body = { fromUserID: 'u1', pagination: { pageNumber: 1, showNumber: 10 } };

  it('requires operationID first: 1001 "header must have operationID" even without a token or a valid body', async () => {
    await expectArgsError(
      { method: 'POST', url: '/group/get_joined_group_list', payload: { nonsense: true } },
      'header must have operationID',
    );
  });

  it('treats an empty operationID as missing', async () => {
    await expectArgsError(
      { method: 'POST', url: '/group/get_joined_group_list', headers: { operationID: '', token: tokenFor('u1') }, payload: body },
      'header must have operationID',
    );
  });

  it('requires a token next: 1001 "header must have token", before the body is looked at', async () => {
    await expectArgsError(
      { method: 'POST', url: '/group/get_joined_group_list', headers: { operationID: 'op' }, payload: '{not json', },
      'header must have token',
    );
  });
});

describe('POST /group/get_joined_group_list: body validation (1001)', () => {
  const post = (payload: unknown, extra: Record<string, string> = {}): InjectOptions => ({
    method: 'POST',
    url: '/group/get_joined_group_list',
    headers: headersFor('u1', extra),
    payload: payload as InjectOptions['payload'],
  });

  it('rejects a missing pagination', async () => {
    await expectArgsError(post({ fromUserID: 'u1' }), 'pagination: is required');
  });

  it('rejects pageNumber < 1', async () => {
    await expectArgsError(
      post({ fromUserID: 'u1', pagination: { pageNumber: 0, showNumber: 10 } }),
      'pagination.pageNumber: must be >= 1 (pages are 1-based)',
    );
  });

  it('rejects an empty fromUserID', async () => {
    await expectArgsError(
      post({ fromUserID: '', pagination: { pageNumber: 1, showNumber: 10 } }),
      'fromUserID: must not be empty',
    );
  });

  it('rejects showNumber above the maximum and names the limit', async () => {
    await expectArgsError(
      post({ fromUserID: 'u1', pagination: { pageNumber: 1, showNumber: 1001 } }),
      'pagination.showNumber: must be <= 1000',
    );
  });

  it('takes the maximum from MAX_SHOW_NUMBER', async () => {
    const small = await build({ config: world.config({ MAX_SHOW_NUMBER: '5' }), redis: world.redis });
    try {
      const over = await send(small, post({ fromUserID: 'u1', pagination: { pageNumber: 1, showNumber: 6 } }));
      expect(over.body).toEqual({ errCode: 1001, errMsg: 'ArgsError', errDlt: 'pagination.showNumber: must be <= 5' });
      const atLimit = await send(small, post({ fromUserID: 'u1', pagination: { pageNumber: 1, showNumber: 5 } }));
      expect(atLimit.body.errCode).toBe(0);
    } finally {
      await small.close();
    }
  });

  it.each([
    ['a number sent as a string', { pageNumber: '1', showNumber: 10 }, 'pagination.pageNumber: must be a number, got string'],
    ['a fraction', { pageNumber: 1, showNumber: 1.5 }, 'pagination.showNumber: must be an integer, got 1.5'],
    ['a value beyond int32', { pageNumber: 2 ** 31, showNumber: 10 }, 'pagination.pageNumber: must be <= 2147483647'],
    ['a negative showNumber', { pageNumber: 1, showNumber: -1 }, 'pagination.showNumber: must be >= 0'],
    ['an unknown pagination field', { pageNumber: 1, showNumber: 10, offset: 3 }, 'pagination.offset: unknown field'],
  ])('rejects %s like upstream int32 decoding does', async (_case, pagination, errDlt) => {
    await expectArgsError(post({ fromUserID: 'u1', pagination }), errDlt);
  });

  it('rejects unknown top-level fields and lists every problem at once', async () => {
    await expectArgsError(
      post({ fromUserID: '', pagination: { pageNumber: 0, showNumber: 10 }, extra: 1 }),
      'fromUserID: must not be empty; pagination.pageNumber: must be >= 1 (pages are 1-based); extra: unknown field',
    );
  });

  it('rejects a body that is not a JSON object', async () => {
    await expectArgsError(post([1, 2]), 'body: must be an object, got array');
  });

  it('rejects a request without a body', async () => {
    await expectArgsError({ method: 'POST', url: '/group/get_joined_group_list', headers: headersFor('u1') }, 'body: is required');
  });

  it('rejects malformed JSON', async () => {
    await expectArgsError(post('{"fromUserID": "u1",', { 'content-type': 'application/json' }), 'body is not valid JSON');
  });

  it('rejects an empty JSON body', async () => {
    await expectArgsError(post('', { 'content-type': 'application/json' }), 'body is empty; send a JSON object');
  });

  it('rejects a body that is not sent as application/json', async () => {
    await expectArgsError(
      post('{"fromUserID":"u1"}', { 'content-type': 'text/plain' }),
      'unsupported content-type; send application/json',
    );
  });

  it('answers a body over BODY_LIMIT_BYTES with HTTP 413 and errCode 413', async () => {
    const res = await send(app, post({ fromUserID: 'u1', pad: 'x'.repeat(config.BODY_LIMIT_BYTES) }));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      errCode: 413,
      errMsg: 'PayloadTooLarge',
      errDlt: `request body is too large, limitBytes=${config.BODY_LIMIT_BYTES}`,
    });
  });
});

describe('POST /group/get_joined_group_list: who may read', () => {
  it('lets a user read their own list', async () => {
    const user = uniqueId('u');
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 1 }]);
    expect((await send(app, listRequest(user, 1, 10, user))).body.data.total).toBe(1);
  });

  it('lets any configured admin read anyone\'s list', async () => {
    const user = uniqueId('u');
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 1 }]);
    for (const admin of ['imAdmin', 'opsAdmin']) {
      expect((await send(app, listRequest(user, 1, 10, admin))).body.data.total).toBe(1);
    }
  });

  it('refuses another user with 1002 NoPermissionError and no data', async () => {
    const res = await send(app, listRequest(uniqueId('u'), 1, 10, uniqueId('other')));
    expect(res.status).toBe(200);
    expect(res.body.errCode).toBe(ErrCode.NoPermission);
    expect(res.body.errMsg).toBe('NoPermissionError');
    expect(res.body).not.toHaveProperty('data');
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['an expired token', () => openImToken(SECRET, 'u1', { nowSeconds: now() - 7200, ttlSeconds: 3600 }), 1501, 'TokenExpiredError'],
    ['a token not valid yet', () => openImToken(SECRET, 'u1', { nbfOffsetSeconds: 3600 }), 1504, 'TokenNotValidYetError'],
    ['a malformed token', () => 'definitely-not-a-jwt', 1503, 'TokenMalformedError'],
    ['a token signed with another secret', () => openImToken('wrong-secret', 'u1'), 1505, 'TokenUnknownError'],
  ])('answers %s with %i', async (_case, token, errCode, errMsg) => {
    const res = await send(app, {
      method: 'POST',
      url: '/group/get_joined_group_list',
      headers: { operationID: 'op', token: token() },
      payload: { fromUserID: 'u1', pagination: { pageNumber: 1, showNumber: 10 } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ errCode, errMsg });
    expect(res.body).not.toHaveProperty('data');
  });

  it('verifies the token before validating the body (as upstream middleware does)', async () => {
    const res = await send(app, {
      method: 'POST',
      url: '/group/get_joined_group_list',
      headers: { operationID: 'op', token: 'garbage' },
      payload: { fromUserID: '' },
    });
    expect(res.body.errCode).toBe(ErrCode.TokenMalformed);
  });
});
