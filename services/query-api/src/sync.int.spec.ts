import { ev, uniqueId } from '@imgroups/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, expectArgsError, post, send, World } from './test-helpers.js';

/**
 * The SDK's group sync by example (docs/http-api.md "Group sync"): the
 * version logs through the routes. The random histories with a client
 * written from the SDK's algorithm are in test/reliability/sdk-sync.rel.spec.ts.
 */
const LOG_MAX = 10;
const world = new World(undefined, LOG_MAX);
let app: FastifyInstance;

beforeAll(async () => {
  await world.start();
  app = await world.app();
});
afterAll(() => world.stop());

type Data = Record<string, any>;
const call = async (url: string, body: unknown, as: string): Promise<Data> => {
  const res = await send(app, post(url, body, as));
  expect(res.body.errCode, res.raw).toBe(0);
  return res.body.data as Data;
};
const joins = (userID: string, versionID: string, version: number | string, as = userID) =>
  call('/group/get_incremental_join_groups', { userID, versionID, version }, as);
const members = (groupID: string, versionID: string, version: number, as: string) =>
  call('/group/get_incremental_group_members', { groupID, versionID, version }, as);
const fullJoinIds = (userID: string) => call('/group/get_full_join_group_ids', { userID }, userID);
const fullMemberIds = (groupID: string, as: string) => call('/group/get_full_group_member_user_ids', { groupID }, as);
const ids = (infos: { groupID: string }[]) => infos.map((g) => g.groupID).sort();

/** A user who has synced once: the versionID and version get_full_join_group_ids gave it. */
async function synced(user: string) {
  const { versionID, version } = await fullJoinIds(user);
  return { versionID: versionID as string, version: version as number };
}

describe('POST /group/get_incremental_join_groups', () => {
  it('answers full to a client that never synced, with the versionID and version to store', async () => {
    const user = uniqueId('u');
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 5 }]);
    const first = await joins(user, '', 0);
    expect(first).toEqual({ version: 1, versionID: await world.versionID(), full: true, delete: [], insert: [], update: [], sortVersion: 0 });
    expect(Object.keys(first)).toEqual(['version', 'versionID', 'full', 'delete', 'insert', 'update', 'sortVersion']);
    // upstream's protobuf JSON leaves out empty fields: the same.
    expect(await call('/group/get_incremental_join_groups', { userID: user }, user)).toMatchObject({ full: true, version: 1 });
  });

  it('then gives the groups joined (their GroupInfo) and left since, and nothing when nothing changed', async () => {
    const [user, g1, g2, g3] = [uniqueId('u'), uniqueId('g'), uniqueId('g'), uniqueId('g')];
    await world.joinGroups(user, [{ groupID: g1, joinTime: 1 }]);
    const v = await synced(user);
    expect(await joins(user, v.versionID, v.version)).toMatchObject({ full: false, version: v.version, delete: [], insert: [] });
    await world.joinGroups(user, [{ groupID: g2, joinTime: 2 }, { groupID: g3, joinTime: 3 }]);
    await world.apply(ev.left(g1, [user]), ev.infoUpdated(g2, { groupName: 'renamed' }));
    const next = await joins(user, v.versionID, v.version);
    expect(next).toMatchObject({ full: false, version: v.version + 3, delete: [g1], update: [] });
    expect(ids(next.insert)).toEqual([g2, g3].sort());
    expect(next.insert.find((g: Data) => g.groupID === g2)).toMatchObject({ groupName: 'renamed', memberCount: 2 });
  });

  it('answers full to another versionID, a version ahead, or one older than the log keeps', async () => {
    const user = uniqueId('u');
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 1 }]);
    const v = await synced(user);
    expect(await joins(user, 'aaaaaaaaaaaaaaaaaaaaaaaa', v.version)).toMatchObject({ full: true });
    expect(await joins(user, v.versionID, v.version + 1)).toMatchObject({ full: true, version: v.version });
    // beyond 2^53 as a raw JSON number: ahead of any log
    expect((await send(app, post('/group/get_incremental_join_groups', `{"userID":"${user}","versionID":"${v.versionID}","version":18446744073709551615}`, user))).body.data).toMatchObject({ full: true });
    // LOG_MAX + 1 new groups: the log drops the oldest entries, the client is behind them.
    await world.joinGroups(user, Array.from({ length: LOG_MAX + 1 }, (_, i) => ({ groupID: uniqueId('g'), joinTime: 10 + i })));
    expect(await joins(user, v.versionID, v.version)).toMatchObject({ full: true, version: v.version + LOG_MAX + 1, insert: [] });
    // A client that synced just before the last change is still served.
    const last = await synced(user);
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 99 }]);
    expect((await joins(user, last.versionID, last.version)).insert).toHaveLength(1);
  });

  it('adds nothing to the log for a redelivered event or a change that changes nothing', async () => {
    const [user, g] = [uniqueId('u'), uniqueId('g')];
    const created = ev.created(g, { userID: uniqueId('o'), joinTime: 1 }, [{ userID: user, joinTime: 2 }]);
    await world.apply(created);
    const v = await synced(user);
    // The same event again at a later offset: a re-send, caught by the window.
    const outcomes = await world.readModel.apply(world.gen, 0, [{ offset: '999999', event: JSON.parse(JSON.stringify(created)) }]);
    expect(outcomes).toEqual(['duplicate_event']);
    expect((await synced(user)).version).toBe(v.version);
  });

  it('lets the user or an admin ask; refuses others (1002) and bad input (1001)', async () => {
    const user = uniqueId('u');
    expect(await joins(user, '', 0, ADMIN)).toMatchObject({ full: true });
    const other = await send(app, post('/group/get_incremental_join_groups', { userID: user, versionID: '', version: 0 }, uniqueId('x')));
    expect(other.body.errCode).toBe(1002);
    expectArgsError(await send(app, post('/group/get_incremental_join_groups', { userID: user, version: -1 }, user)), /version/);
    expectArgsError(await send(app, post('/group/get_incremental_join_groups', { userID: user, version: '3' }, user)), /version/);
  });
});

describe('POST /group/get_incremental_group_members and _batch', () => {
  async function groupWith(n: number) {
    const [g, owner] = [uniqueId('g'), uniqueId('o')];
    const others = Array.from({ length: n }, (_, i) => ({ userID: uniqueId('m'), joinTime: 10 + i }));
    await world.apply(ev.created(g, { userID: owner, joinTime: 1 }, others));
    const full = await fullMemberIds(g, owner);
    return { g, owner, others: others.map((m) => m.userID), v: { versionID: full.versionID as string, version: full.version as number }, full };
  }

  it('reads a new group whole (version 1), then its joins, leaves, role changes and own info changes', async () => {
    const { g, owner, others, v, full } = await groupWith(2);
    expect(full).toMatchObject({ version: 1, versionID: await world.versionID(), equal: false, userIDs: [owner, ...others] });
    expect(await members(g, '', 0, owner)).toMatchObject({ full: true, version: 1, insert: [], group: { groupID: g, memberCount: 3 } });
    expect(await members(g, v.versionID, v.version, owner)).toMatchObject({ full: false, delete: [], insert: [], update: [], group: null, sortVersion: 0 });

    const newcomer = uniqueId('m');
    await world.apply(ev.joined(g, [{ userID: newcomer, joinTime: 50 }]), ev.left(g, [others[0]!]), ev.roleChanged(g, others[1]!, 60));
    const a = await members(g, v.versionID, v.version, owner);
    expect(a).toMatchObject({ full: false, version: 4, delete: [others[0]], sortVersion: 4 });
    expect(a.insert).toEqual([expect.objectContaining({ groupID: g, userID: newcomer, roleLevel: 20, joinTime: 50 })]);
    expect(a.update).toEqual([expect.objectContaining({ userID: others[1], roleLevel: 60 })]);
    expect(a.group).toMatchObject({ groupID: g, memberCount: 3 }); // members joined and left: the count moved

    await world.apply(ev.infoUpdated(g, { groupName: 'new name' }));
    const b = await members(g, v.versionID, 4, owner);
    expect(b).toMatchObject({ full: false, version: 5, delete: [], insert: [], update: [], sortVersion: 4 });
    expect(b.group).toMatchObject({ groupName: 'new name', memberCount: 3 });
    // A patch that changes nothing is no change.
    await world.apply(ev.infoUpdated(g, { groupName: 'new name' }));
    expect((await fullMemberIds(g, owner)).version).toBe(5);
  });

  it('an owner transfer changes two roles and the owner', async () => {
    const { g, owner, others, v } = await groupWith(1);
    await world.apply(ev.ownerTransferred(g, owner, others[0]!));
    const a = await members(g, v.versionID, v.version, owner);
    expect(a.update.map((m: Data) => [m.userID, m.roleLevel]).sort()).toEqual([[owner, 20], [others[0], 100]].sort());
    expect(a.group).toMatchObject({ ownerUserID: others[0] });
  });

  it('refuses non-members (1002), unknown groups (1201) and dismissed ones (1204)', async () => {
    const { g, owner } = await groupWith(1);
    const as = async (groupID: string, who: string) =>
      (await send(app, post('/group/get_incremental_group_members', { groupID, versionID: '', version: 0 }, who))).body.errCode;
    expect(await as(g, uniqueId('x'))).toBe(1002);
    expect(await as(uniqueId('g'), ADMIN)).toBe(1201);
    await world.apply(ev.dismissed(g));
    expect(await as(g, ADMIN)).toBe(1204);
    expect((await send(app, post('/group/get_full_group_member_user_ids', { groupID: g }, owner))).body.errCode).toBe(1002);
  });

  it('the batch answers each of the user\'s groups, leaves out dismissed, unknown and foreign ones', async () => {
    const a = await groupWith(1);
    const b = await groupWith(1);
    const foreign = await groupWith(1);
    const user = a.owner;
    await world.apply(ev.joined(b.g, [{ userID: user, joinTime: 70 }]));
    const dismissed = await groupWith(0);
    await world.apply(ev.joined(dismissed.g, [{ userID: user, joinTime: 71 }]), ev.dismissed(dismissed.g));
    const reqList = [a, b, foreign, dismissed].map((x) => ({ groupID: x.g, ...x.v })).concat([{ groupID: uniqueId('g'), versionID: '', version: 0 }]);
    const res = await call('/group/get_incremental_group_members_batch', { userID: user, reqList }, user);
    expect(Object.keys(res.respList).sort()).toEqual([a.g, b.g].sort());
    expect(res.respList[b.g]).toMatchObject({ full: false, insert: [expect.objectContaining({ userID: user })] });
  });

  it('the batch stops adding groups once its answers hold more than 500 changes', async () => {
    const roomy = new World(undefined, 1000); // logs that keep 300 joins
    await roomy.start();
    const app2 = await roomy.app();
    const user = uniqueId('u');
    const groupWith0 = async () => {
      const g = uniqueId('g');
      await roomy.apply(ev.created(g, { userID: user, joinTime: 1 }));
      const full = (await send(app2, post('/group/get_full_group_member_user_ids', { groupID: g }, user))).body.data;
      return { g, v: { versionID: full.versionID as string, version: full.version as number } };
    };
    // Two groups with 300 new members each: the first answer holds 300 changes, the second passes 500, a third is left out.
    const big = [await groupWith0(), await groupWith0(), await groupWith0()];
    try {
      for (const x of big) {
        for (let i = 0; i < 3; i++) await roomy.apply(ev.joined(x.g, Array.from({ length: 100 }, (_, k) => ({ userID: uniqueId('n'), joinTime: 100 + k }))));
      }
      const r = await send(app2, post('/group/get_incremental_group_members_batch', { userID: user, reqList: big.map((x) => ({ groupID: x.g, ...x.v })) }, user));
      expect(Object.keys(r.body.data.respList)).toEqual([big[0]!.g, big[1]!.g]);
      expect(r.body.data.respList[big[0]!.g]).toMatchObject({ full: false });
      expect(r.body.data.respList[big[0]!.g].insert).toHaveLength(300);
    } finally {
      await roomy.stop();
    }
  });
});

describe('a rebuild', () => {
  it('gives a new versionID: every client syncs in full once', async () => {
    const user = uniqueId('u');
    await world.joinGroups(user, [{ groupID: uniqueId('g'), joinTime: 1 }]);
    const before = await synced(user);
    const rebuilt = new World(); // another key root stands for the next generation of this one
    await rebuilt.start();
    // An app that asks Redis for the active generation on every request: the switch below is made by hand.
    const uncached = await world.app({}, { activeTtlMs: 0 });
    try {
      expect(await rebuilt.versionID()).not.toBe(before.versionID);
      const gen2 = world.gen + 1;
      const next = `${(await world.versionID()).slice(0, 16)}${gen2.toString(16).padStart(8, '0')}`;
      await world.redis.set(world.readModel.keys.active, String(gen2));
      try {
        const res = await send(uncached, post('/group/get_incremental_join_groups', { userID: user, versionID: before.versionID, version: before.version }, user));
        const answer = res.body.data as Data;
        expect(answer).toMatchObject({ full: true, versionID: next });
      } finally {
        await world.redis.set(world.readModel.keys.active, String(world.gen));
      }
    } finally {
      await rebuilt.stop();
    }
  });
});
