import { createHash } from 'node:crypto';
import { GROUP_INFO_FIELDS, GROUP_MEMBER_FIELDS, NUMERIC_GROUP_FIELDS } from '@imgroups/contracts';
import { ev, uniqueId } from '@imgroups/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, expectArgsError, post, send, World } from './test-helpers.js';

/**
 * The related read APIs (CONTRACT.md §1) off the same projection, with the
 * same envelope and auth: get_groups_info, get_group_member_list,
 * get_full_join_group_ids. Data goes in through the real apply path.
 */
const world = new World();
let app: FastifyInstance;

beforeAll(async () => {
  await world.start();
  app = await world.app();
});
afterAll(() => world.stop());

const groupsInfo = (groupIDs: unknown, as: string) => send(app, post('/group/get_groups_info', { groupIDs }, as));
const memberList = (groupID: string, pageNumber: number, showNumber: number, as: string) =>
  send(app, post('/group/get_group_member_list', { groupID, pagination: { pageNumber, showNumber } }, as));
const fullIds = (body: unknown, as: string) => send(app, post('/group/get_full_join_group_ids', body, as));

const groupIdsOf = (infos: { groupID: string }[]) => infos.map((g) => g.groupID);

describe('POST /group/get_groups_info', () => {
  it('answers each known group with every field in contract order, exact memberCount, in the order asked', async () => {
    const [owner, m1, m2] = [uniqueId('o'), uniqueId('m'), uniqueId('m')];
    const [g1, g2] = [uniqueId('g'), uniqueId('g')];
    await world.apply(
      ev.created(g1, { userID: owner, joinTime: 1000 }, [{ userID: m1, joinTime: 1001 }], {
        groupName: 'first "one"',
        notification: 'n',
        introduction: 'i',
        faceURL: 'https://x.test/f.png',
        ex: '{"k":1}',
        needVerification: 1,
        lookMemberInfo: 1,
        applyMemberFriend: 1,
        notificationUpdateTime: 1500,
        notificationUserID: owner,
      }),
      ev.created(g2, { userID: owner, joinTime: 2000 }, [{ userID: m1, joinTime: 2001 }, { userID: m2, joinTime: 2002 }]),
      ev.statusChanged(g2, 3),
    );
    const res = await groupsInfo([g2, g1], m1);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['errCode', 'errMsg', 'errDlt', 'data']);
    expect(Object.keys(res.body.data)).toEqual(['groupInfos']);
    const [second, first] = res.body.data.groupInfos;
    for (const g of [first, second]) {
      expect(Object.keys(g)).toEqual([...GROUP_INFO_FIELDS]);
      for (const f of GROUP_INFO_FIELDS) expect(typeof g[f], f).toBe(NUMERIC_GROUP_FIELDS.has(f) ? 'number' : 'string');
    }
    expect(first).toEqual({
      groupID: g1,
      groupName: 'first "one"',
      notification: 'n',
      introduction: 'i',
      faceURL: 'https://x.test/f.png',
      ownerUserID: owner,
      createTime: 1000,
      memberCount: 2,
      ex: '{"k":1}',
      status: 0,
      creatorUserID: owner,
      groupType: 2,
      needVerification: 1,
      lookMemberInfo: 1,
      applyMemberFriend: 1,
      notificationUpdateTime: 1500,
      notificationUserID: owner,
    });
    expect(second).toMatchObject({ groupID: g2, memberCount: 3, status: 3 });
  });

  it('leaves unknown groups out and answers a repeated ID once', async () => {
    const g = uniqueId('g');
    await world.apply(ev.created(g, { userID: uniqueId('o'), joinTime: 1 }));
    const res = await groupsInfo([uniqueId('nope'), g, g, uniqueId('nope')], uniqueId('anyone'));
    expect(res.body.errCode).toBe(0);
    expect(groupIdsOf(res.body.data.groupInfos)).toEqual([g]);
  });

  it('answers a dismissed group with status 2 and memberCount 0, its other fields kept', async () => {
    const [owner, g] = [uniqueId('o'), uniqueId('g')];
    await world.apply(
      ev.created(g, { userID: owner, joinTime: 7 }, [{ userID: uniqueId('m'), joinTime: 8 }], { groupName: 'gone soon' }),
      ev.dismissed(g),
    );
    const res = await groupsInfo([g], uniqueId('anyone'));
    expect(res.body.data.groupInfos).toHaveLength(1);
    const [info] = res.body.data.groupInfos;
    expect(Object.keys(info)).toEqual([...GROUP_INFO_FIELDS]);
    expect(info).toMatchObject({ groupID: g, groupName: 'gone soon', status: 2, memberCount: 0, ownerUserID: owner, createTime: 7 });
  });

  it('answers [] (never null) when no ID is known', async () => {
    const res = await groupsInfo([uniqueId('nope')], uniqueId('anyone'));
    expect(res.raw).toBe('{"errCode":0,"errMsg":"","errDlt":"","data":{"groupInfos":[]}}');
  });

  it('lets any caller with a valid token read any group (upstream checks no membership)', async () => {
    const g = uniqueId('g');
    await world.apply(ev.created(g, { userID: uniqueId('o'), joinTime: 1 }));
    expect(groupIdsOf((await groupsInfo([g], uniqueId('stranger'))).body.data.groupInfos)).toEqual([g]);
  });

  it('refuses an empty groupIDs list with 1001', async () => {
    expectArgsError(await groupsInfo([], 'u1'), 'groupIDs: must not be empty');
  });

  it('refuses more than MAX_GROUP_IDS IDs with 1001 naming the limit, and accepts exactly that many', async () => {
    const small = await world.app({ MAX_GROUP_IDS: '3' });
    const ids = [1, 2, 3, 4].map(() => uniqueId('g'));
    expectArgsError(await send(small, post('/group/get_groups_info', { groupIDs: ids }, 'u1')), 'groupIDs: must hold at most 3 IDs');
    expect((await send(small, post('/group/get_groups_info', { groupIDs: ids.slice(0, 3) }, 'u1'))).body.errCode).toBe(0);
  });

  it('refuses the whole request when one ID is bad, naming its position', async () => {
    expectArgsError(await groupsInfo(['g1', 'a:b', 'g3'], 'u1'), 'groupIDs.1: must not contain "{", "}", ":" or control characters');
  });
});

describe('POST /group/get_group_member_list', () => {
  /** A group with an owner (joined 100), an admin (300), two members joined together (200) and an invitee (400). */
  async function arrangeGroup() {
    const g = uniqueId('g');
    const [owner, admin, a, b, invitee] = ['o', 'adm', 'a', 'b', 'inv'].map((p) => uniqueId(p)) as [string, string, string, string, string];
    const operator = uniqueId('op');
    await world.apply(
      ev.created(g, { userID: owner, joinTime: 100 }, [
        { userID: admin, joinTime: 300 },
        { userID: b, joinTime: 200, joinSource: 3 },
        { userID: a, joinTime: 200, joinSource: 4 },
      ], {}, operator),
      ev.roleChanged(g, admin, 60),
      ev.joined(g, [{ userID: invitee, joinTime: 400, joinSource: 2, inviterUserID: owner }], owner),
    );
    const ties = [a, b].sort();
    return { g, owner, admin, a, b, invitee, operator, order: [owner, ...ties, admin, invitee] };
  }

  it('lists members by join time (ties by userID) with every field in contract order and its wire type', async () => {
    const { g, owner, admin, a, b, invitee, operator, order } = await arrangeGroup();
    const res = await memberList(g, 1, 10, b);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data)).toEqual(['total', 'members']);
    expect(res.body.data.total).toBe(5);
    const members = res.body.data.members as Record<string, unknown>[];
    expect(members.map((m) => m.userID)).toEqual(order);
    for (const m of members) expect(Object.keys(m)).toEqual([...GROUP_MEMBER_FIELDS]);
    const byId = Object.fromEntries(members.map((m) => [m.userID, m]));
    const base = { groupID: g, nickname: '', faceURL: '', appMangerLevel: 0, ex: '', muteEndTime: 0 };
    expect(byId[owner]).toEqual({ ...base, userID: owner, roleLevel: 100, joinTime: 100, joinSource: 0, operatorUserID: operator, inviterUserID: '' });
    expect(byId[admin]).toEqual({ ...base, userID: admin, roleLevel: 60, joinTime: 300, joinSource: 0, operatorUserID: operator, inviterUserID: '' });
    expect(byId[a]).toEqual({ ...base, userID: a, roleLevel: 20, joinTime: 200, joinSource: 4, operatorUserID: operator, inviterUserID: '' });
    expect(byId[invitee]).toEqual({ ...base, userID: invitee, roleLevel: 20, joinTime: 400, joinSource: 2, operatorUserID: owner, inviterUserID: owner });
  });

  it('pages with the full total: a middle page, a page past the end, showNumber 0', async () => {
    const { g, owner, order } = await arrangeGroup();
    const page2 = await memberList(g, 2, 2, owner);
    expect(page2.body.data.total).toBe(5);
    expect(page2.body.data.members.map((m: { userID: string }) => m.userID)).toEqual(order.slice(2, 4));
    expect((await memberList(g, 4, 2, owner)).body.data).toEqual({ total: 5, members: [] });
    expect((await memberList(g, 1, 0, owner)).raw).toBe('{"errCode":0,"errMsg":"","errDlt":"","data":{"total":5,"members":[]}}');
  });

  it('follows the projection: ownership moves, a member who left is gone, a rejoin gets the new join time', async () => {
    const { g, owner, a, invitee } = await arrangeGroup();
    await world.apply(ev.ownerTransferred(g, owner, invitee), ev.left(g, [a]), ev.joined(g, [{ userID: a, joinTime: 900 }]));
    const members = (await memberList(g, 1, 10, invitee)).body.data.members as { userID: string; roleLevel: number; joinTime: number }[];
    expect(members).toHaveLength(5);
    expect(members.at(-1)).toMatchObject({ userID: a, joinTime: 900, roleLevel: 20 });
    expect(members.find((m) => m.userID === invitee)?.roleLevel).toBe(100);
    expect(members.find((m) => m.userID === owner)?.roleLevel).toBe(20);
  });

  it('refuses a caller who is neither a member nor an admin with 1002 and no data', async () => {
    const { g } = await arrangeGroup();
    const res = await memberList(g, 1, 10, uniqueId('stranger'));
    expect(res.body).toEqual({ errCode: 1002, errMsg: 'NoPermissionError', errDlt: expect.stringContaining(`groupID=${g}`) });
  });

  it('answers a non-admin 1002 for an unknown group too: no oracle for which groups exist', async () => {
    const res = await memberList(uniqueId('nope'), 1, 10, uniqueId('stranger'));
    expect(res.body.errCode).toBe(1002);
  });

  it('lets an admin list any group without being a member', async () => {
    const { g, order } = await arrangeGroup();
    const res = await memberList(g, 1, 10, ADMIN);
    expect(res.body.data.members.map((m: { userID: string }) => m.userID)).toEqual(order);
  });

  it('answers an admin 1201 GroupIDNotFound for an unknown group', async () => {
    const g = uniqueId('nope');
    const res = await memberList(g, 1, 10, ADMIN);
    expect(res.body).toEqual({ errCode: 1201, errMsg: 'GroupIDNotFoundError', errDlt: `group not found, groupID=${g}` });
  });

  it('answers an admin 1204 DismissedAlready for a dismissed group, and its former members 1002', async () => {
    const { g, owner } = await arrangeGroup();
    await world.apply(ev.dismissed(g));
    expect((await memberList(g, 1, 10, ADMIN)).body).toEqual({
      errCode: 1204,
      errMsg: 'DismissedAlreadyError',
      errDlt: `group was dismissed, groupID=${g}`,
    });
    expect((await memberList(g, 1, 10, owner)).body.errCode).toBe(1002);
  });

  it('validates the body like the list route (1001 naming each field)', async () => {
    const res = await send(app, post('/group/get_group_member_list', { groupID: '', pagination: { pageNumber: 0, showNumber: 1001 } }, 'u1'));
    expectArgsError(
      res,
      'groupID: must not be empty; pagination.pageNumber: must be >= 1 (pages are 1-based); pagination.showNumber: must be <= 1000',
    );
  });
});

describe('POST /group/get_full_join_group_ids', () => {
  /** Upstream's hashutil.IdHash, computed here from the hex digest (not the code under test). */
  const upstreamIdHash = (ids: string[]) =>
    ids.length === 0 ? 0n : BigInt(`0x${createHash('md5').update(JSON.stringify(ids)).digest('hex').slice(0, 16)}`);

  /**
   * A user in three groups. The IDs are drawn until the list's hash is at
   * least 2^54 (all but 1 in 1024 draws), where a double can no longer tell
   * neighbouring integers apart: the case that needs exact parsing.
   */
  async function arrangeUser() {
    let p = uniqueId('g');
    const orderOf = (prefix: string) => [`${prefix}c`, `${prefix}a`, `${prefix}b`];
    while (upstreamIdHash(orderOf(p)) < 2n ** 54n) p = uniqueId('g');
    const user = uniqueId('u');
    await world.joinGroups(user, [
      { groupID: `${p}b`, joinTime: 20 },
      { groupID: `${p}c`, joinTime: 10 },
      { groupID: `${p}a`, joinTime: 20 },
    ]);
    return { user, order: orderOf(p) };
  }

  it('answers every group ID in list order, the set version and the generation, equal false without a hash', async () => {
    const { user, order } = await arrangeUser();
    const res = await fullIds({ userID: user }, user);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data)).toEqual(['version', 'versionID', 'equal', 'groupIDs']);
    expect(res.body.data).toEqual({ version: 3, versionID: await world.versionID(), equal: false, groupIDs: order });
  });

  it('answers equal true and no IDs when the client sends the current idHash (beyond 2^53, compared exactly)', async () => {
    const { user, order } = await arrangeUser();
    const hash = upstreamIdHash(order);
    // Sent as a raw JSON number, as a Go client marshals a uint64.
    const same = await fullIds(`{"userID":"${user}","idHash":${hash}}`, user);
    expect(same.body.data).toEqual({ version: 3, versionID: await world.versionID(), equal: true, groupIDs: [] });
    // One off in the last bit is another hash: JSON.parse alone would round both to the same double.
    const near = hash ^ 1n;
    expect(Number(near)).toBe(Number(hash));
    const other = await fullIds(`{"userID":"${user}","idHash":${near}}`, user);
    expect(other.body.data).toMatchObject({ equal: false, groupIDs: order });
  });

  it('hashes the IDs as Go encodes them: <, > and & escaped', async () => {
    const user = uniqueId('u');
    const g = `${uniqueId('g')}<&>`;
    await world.joinGroups(user, [{ groupID: g, joinTime: 1 }]);
    const goJson = `["${g.replace('<', '\\u003c').replace('&', '\\u0026').replace('>', '\\u003e')}"]`;
    const hash = BigInt(`0x${createHash('md5').update(goJson).digest('hex').slice(0, 16)}`);
    expect((await fullIds(`{"userID":"${user}","idHash":${hash}}`, user)).body.data.equal).toBe(true);
  });

  it('counts every change to the set in version, and nothing else', async () => {
    const { user, order } = await arrangeUser();
    const [first] = order as [string];
    await world.apply(ev.infoUpdated(first, { groupName: 'renamed' }));
    expect((await fullIds({ userID: user }, user)).body.data.version).toBe(3);
    await world.apply(ev.left(first, [user]));
    const after = (await fullIds({ userID: user }, user)).body.data;
    expect(after.version).toBe(4);
    expect(after.groupIDs).toEqual(order.slice(1));
  });

  it('gives a user in no group version 0 and equal true for idHash 0 (upstream hashes [] to 0)', async () => {
    const user = uniqueId('u');
    expect((await fullIds({ userID: user, idHash: 0 }, user)).body.data).toEqual({
      version: 0,
      versionID: await world.versionID(),
      equal: true,
      groupIDs: [],
    });
  });

  it('lets the user or an admin read, and refuses anyone else with 1002', async () => {
    const { user, order } = await arrangeUser();
    expect((await fullIds({ userID: user }, ADMIN)).body.data.groupIDs).toEqual(order);
    const res = await fullIds({ userID: user }, uniqueId('other'));
    expect(res.body).toEqual({ errCode: 1002, errMsg: 'NoPermissionError', errDlt: `only the user or an admin may read this, userID=${user}` });
  });

  it.each([
    ['a string', '"123"'],
    ['a negative number', '-1'],
    ['a fraction', '1.5'],
    ['2^64 (one past uint64)', '18446744073709551616'],
    ['a huge number in exponent form', '1e30'],
    ['an exact integer in exponent form beyond 2^53', '1.5e17'],
    ['null', 'null'],
  ])('refuses an idHash that is %s with 1001', async (_case, literal) => {
    expectArgsError(await fullIds(`{"userID":"u1","idHash":${literal}}`, 'u1'), /^idHash: /);
  });

  it('accepts the largest uint64 as an idHash', async () => {
    const user = uniqueId('u');
    const res = await fullIds(`{"userID":"${user}","idHash":18446744073709551615}`, user);
    expect(res.body.data).toMatchObject({ equal: false, groupIDs: [] });
  });
});
