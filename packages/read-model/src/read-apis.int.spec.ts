import { decodeEvent, GROUP_INFO_FIELDS, GROUP_MEMBER_FIELDS, type EventType, type GroupEvent } from '@imgroups/contracts';
import { uniqueId, waitFor } from '@imgroups/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ReadModel } from './read-model.js';
import { memberDetail } from './wire.js';
import { masters, type RedisClient } from './redis-client.js';
import { testRedis, unlinkMatching } from './redis.test-helpers.js';

/**
 * The reads behind get_groups_info, get_group_member_list and
 * get_full_join_group_ids, against a real Redis: each reads one generation,
 * the active one as resolved when it starts (a generation switch is seen
 * whole or not at all), and a member page costs the same commands whatever
 * the group's size. Every test works under its own key root.
 */
let redis: RedisClient;
const onCluster = inject('testEnv').redisTopology === 'cluster';
beforeAll(() => {
  redis = testRedis(inject('testEnv'));
});
afterAll(() => redis.quit());

async function withModel<T>(fn: (rm: ReadModel, root: string) => Promise<T>): Promise<T> {
  const root = uniqueId('rma');
  try {
    // activeTtlMs 0: the tests switch generations by hand and read at once.
    return await fn(new ReadModel(redis, { root, dedupeWindow: 128, activeTtlMs: 0 }), root);
  } finally {
    await unlinkMatching(redis, `${root}:*`);
  }
}

function events() {
  const prefix = uniqueId('ev');
  let n = 0;
  return (type: EventType, groupID: string, data: unknown, operatorUserID = 'op'): GroupEvent => {
    const raw = { eventID: `${prefix}-${n++}`, type, version: 1, groupID, occurredAt: 1_700_000_000_000 + n, operatorUserID, data };
    const r = decodeEvent(JSON.stringify(raw));
    if (!r.ok) throw new Error(`test event invalid: ${r.reason}`);
    return r.event;
  };
}

let offset = 0;
const at = (list: GroupEvent[]) => list.map((event) => ({ offset: String(++offset), event }));

const created = (ev: ReturnType<typeof events>, g: string, owner: string, members: string[], joinTime = 100) =>
  ev('group.created', g, {
    group: { ownerUserID: owner, createTime: joinTime, groupName: `name ${g}` },
    members: [owner, ...members].map((userID, i) => ({ userID, roleLevel: i === 0 ? 100 : 20, joinTime: joinTime + i })),
  });

describe('the read scripts follow the active generation', () => {
  it('answer from whichever generation is active at the time of the read, switching whole', async () => {
    await withModel(async (rm) => {
      const ev = events();
      const [user, owner, g1, g2] = ['u', 'o', 'g1', 'g2'].map((p) => uniqueId(p)) as [string, string, string, string];
      await redis.set(rm.keys.active, '1');
      const epoch = await rm.generations.ensureEpoch();
      // Generation 1: user in g1. Generation 2 (a rebuild): user in g1 and g2, g1 renamed.
      await rm.apply(1, 0, at([created(ev, g1, owner, [user])]));
      await rm.apply(2, 0, at([created(ev, g1, owner, [user]), created(ev, g2, owner, [user], 200), ev('group.info_updated', g1, { groupName: 'renamed' })]));

      const before = await rm.readJoinedGroupIDs(user);
      expect(before).toEqual({ groupIDs: [g1], version: 1, versionID: `${epoch}00000001`, generation: 1 });
      expect(JSON.parse(`[${(await rm.readGroupsInfo([g1, g2])).groupsJson}]`).map((g: { groupName: string }) => g.groupName)).toEqual([`name ${g1}`]);
      expect((await rm.readMemberPage(g2, { userID: user, isAdmin: false }, 0, 10)).outcome).toBe('no_permission');

      await redis.set(rm.keys.active, '2');
      expect(await rm.readJoinedGroupIDs(user)).toEqual({ groupIDs: [g1, g2], version: 2, versionID: `${epoch}00000002`, generation: 2 });
      const info = await rm.readGroupsInfo([g1, g2]);
      expect(info.generation).toBe(2);
      expect(JSON.parse(`[${info.groupsJson}]`).map((g: { groupName: string }) => g.groupName)).toEqual(['renamed', `name ${g2}`]);
      const page = await rm.readMemberPage(g2, { userID: user, isAdmin: false }, 0, 10);
      expect(page.outcome).toBe('ok');
      expect(JSON.parse(`[${page.membersJson}]`).map((m: { userID: string }) => m.userID)).toEqual([owner, user]);
    });
  });

  it('answer "nothing" while no generation is active', async () => {
    await withModel(async (rm) => {
      expect(await rm.readGroupsInfo(['g'])).toEqual({ groupsJson: '', generation: null });
      expect(await rm.readJoinedGroupIDs('u')).toEqual({ groupIDs: [], version: 0, versionID: '', generation: null });
      expect((await rm.readMemberPage('g', { userID: 'u', isAdmin: true }, 0, 10)).outcome).toBe('not_found');
      expect((await rm.readMemberPage('g', { userID: 'u', isAdmin: false }, 0, 10)).outcome).toBe('no_permission');
    });
  });
});

describe('the member page', () => {
  it('serializes every member field as a JSON value of its wire type, absent details as 0 and ""', async () => {
    await withModel(async (rm) => {
      const ev = events();
      const gen = await rm.generations.ensureActive();
      const g = uniqueId('g');
      await rm.apply(gen, 0, at([created(ev, g, 'owner/1', ['m"2'])]));
      // A member whose detail is missing (a remove cut short between its writes): still listed, details zero.
      await redis.zadd(rm.keys.entity('groupMembers', gen, g), 1e15, 'half');
      const page = await rm.readMemberPage(g, { userID: 'owner/1', isAdmin: false }, 0, 10);
      expect(page.total).toBe(3);
      const members = JSON.parse(`[${page.membersJson}]`) as Record<string, unknown>[];
      for (const m of members) expect(Object.keys(m)).toEqual([...GROUP_MEMBER_FIELDS]);
      expect(members.map((m) => m.userID)).toEqual(['owner/1', 'm"2', 'half']);
      expect(members[0]).toMatchObject({ roleLevel: 100, joinTime: 100, joinSource: 0, operatorUserID: 'op', inviterUserID: '' });
      expect(members[2]).toMatchObject({ roleLevel: 0, joinTime: 1e15, joinSource: 0, operatorUserID: '', inviterUserID: '' });
    });
  });

  // MONITOR watches one server: on a Redis Cluster the script and the markers run on different nodes.
  it.skipIf(onCluster)('issues the same Redis commands for a page of a 10-member group and of a 20,000-member one', async () => {
    await withModel(async (rm, root) => {
      const ev = events();
      const gen = await rm.generations.ensureActive();
      const [small, big] = [uniqueId('small'), uniqueId('big')];
      await rm.apply(gen, 0, at([created(ev, small, 'owner', Array.from({ length: 9 }, (_, i) => `m${i}`))]));
      await rm.apply(gen, 0, at([created(ev, big, 'owner', [])]));
      const N = 20_000;
      for (let i = 0; i < N; i += 5000) {
        const zargs: (string | number)[] = [];
        const hargs: string[] = [];
        for (let j = i; j < i + 5000; j++) {
          zargs.push(1000 + j, `m${String(j).padStart(6, '0')}`);
          hargs.push(`m${String(j).padStart(6, '0')}`, memberDetail({ roleLevel: '20', joinSource: '3', inviterUserID: '', operatorUserID: 'op' }));
        }
        await redis.pipeline().zadd(rm.keys.entity('groupMembers', gen, big), ...zargs).hset(rm.keys.entity('groupMemberInfo', gen, big), ...hargs).exec();
      }
      await rm.readMemberPage(small, { userID: 'owner', isAdmin: false }, 0, 5); // loads the script

      const monitor = await masters(redis)[0]!.monitor(); // the one Redis (skipped on a cluster)
      const lines: string[][] = [];
      monitor.on('monitor', (_t: string, args: string[]) => {
        if (args.some((a) => a.includes(root) || a.includes(small) || a.includes(big))) lines.push(args);
      });
      try {
        const commandsOf = async (g: string, start: number) => {
          const marker = `${root}:marker:${g}:${start}`;
          await redis.get(`${marker}:begin`);
          const page = await rm.readMemberPage(g, { userID: 'owner', isAdmin: false }, start, 5);
          await redis.get(`${marker}:end`);
          await waitFor(() => lines.some((l) => l.includes(`${marker}:end`)), { message: 'monitor caught up' });
          const from = lines.findIndex((l) => l.includes(`${marker}:begin`));
          const to = lines.findIndex((l) => l.includes(`${marker}:end`));
          expect(JSON.parse(`[${page.membersJson}]`)).toHaveLength(5);
          return lines.slice(from + 1, to);
        };
        const names = (issued: string[][]) => issued.map((l) => l[0]!.toLowerCase());
        const smallCommands = await commandsOf(small, 5);
        const bigCommands = await commandsOf(big, 10_000);
        expect(names(bigCommands)).toEqual(names(smallCommands));
        // One HGET per member on the page, nothing per member of the group.
        expect(bigCommands.filter((l) => l[0]!.toLowerCase() === 'hget' && l[1]!.endsWith(':minfo'))).toHaveLength(5);
      } finally {
        monitor.disconnect();
      }
    });
  }, 60_000);
});

describe('groups info', () => {
  it('keeps a dismissed group answerable from its tombstone with status 2 and memberCount 0', async () => {
    await withModel(async (rm) => {
      const ev = events();
      const gen = await rm.generations.ensureActive();
      const g = uniqueId('g');
      await rm.apply(gen, 0, at([created(ev, g, 'owner', ['m1']), ev('group.dismissed', g, {})]));
      expect(await redis.exists(rm.keys.entity('groupCard', gen, g))).toBe(0);
      const [info] = JSON.parse(`[${(await rm.readGroupsInfo([g])).groupsJson}]`) as Record<string, unknown>[];
      expect(Object.keys(info!)).toEqual([...GROUP_INFO_FIELDS]);
      expect(info).toMatchObject({ groupID: g, status: 2, memberCount: 0, ownerUserID: 'owner', groupName: `name ${g}` });
    });
  });
});
