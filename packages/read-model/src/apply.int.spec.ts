import { GROUP_INFO_FIELDS } from '@imgroups/contracts';
import { uniqueId } from '@imgroups/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Outcome } from './evolve.js';
import type { ReadModel } from './read-model.js';
import { BASE_TIME, eventFactory, keysUnder, positioned, readAll, withModel } from './read-model.test-helpers.js';
import { crashingApplier } from './test-helpers.js';
import type { RedisClient } from './redis-client.js';
import { testRedis } from './redis.test-helpers.js';

/**
 * Applying events (the apply Lua script) against a real Redis: redelivery,
 * replay after a crash and the checkpoint, the idempotency guards and the
 * dedupe window. Every test works under its own key root and removes it at
 * the end; nothing flushes Redis.
 */

let redis: RedisClient;

beforeAll(() => {
  redis = testRedis(inject('testEnv'));
});

afterAll(async () => {
  await redis.quit();
});

// ---------------------------------------------------------------------------
// Dumps of a key root, to compare what two runs left byte for byte.

interface KeyDump {
  type: string;
  /** Readable contents, for a useful diff. */
  content: unknown;
  /** DUMP serialization (hex): byte-level equality, encoding included. */
  dump: string;
  ttl: number;
}

/** Every key under `root` (the root itself stripped from the names, its hash tag `{<root>}` too), sorted. */
async function dumpRoot(root: string): Promise<Record<string, KeyDump>> {
  const out: Record<string, KeyDump> = {};
  for (const key of await keysUnder(redis, root)) {
    const type = await redis.type(key);
    let content: unknown;
    if (type === 'string') content = await redis.get(key);
    else if (type === 'hash') content = Object.entries(await redis.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : 1));
    else if (type === 'zset') content = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else content = `unexpected type ${type}`;
    const dump = (await redis.dumpBuffer(key))?.toString('hex') ?? '';
    out[key.split(root).join('')] = { type, content, dump, ttl: await redis.pttl(key) };
  }
  return out;
}

// ---------------------------------------------------------------------------
// Redelivery and replay

describe('re-applying events', () => {
  /** One partition's history touching every outcome; gX is never created. */
  function history() {
    const ev = eventFactory();
    const t = (k: number) => BASE_TIME + k * 1000;
    const events = [
      ev('member.joined', 'gX', { members: [{ userID: 'u1', roleLevel: 20, joinTime: t(0) }] }),
      ev('group.created', 'gA', {
        group: { ownerUserID: 'u1', createTime: t(1), groupName: 'Alpha' },
        members: [
          { userID: 'u1', roleLevel: 20, joinTime: t(1) },
          { userID: 'u2', roleLevel: 20, joinTime: t(1) },
        ],
      }),
      ev('member.joined', 'gA', { members: [{ userID: 'u3', roleLevel: 20, joinTime: t(2) }] }),
      ev('member.joined', 'gA', { members: [{ userID: 'u3', roleLevel: 20, joinTime: t(3) }] }),
      ev('group.info_updated', 'gA', { groupName: 'Renamed / "quoted" ü', notificationUpdateTime: t(4) }),
      ev('group.status_changed', 'gA', { status: 3 }),
      ev('member.role_changed', 'gA', { userID: 'u2', roleLevel: 60 }),
      ev('member.role_changed', 'gA', { userID: 'u1', roleLevel: 60 }),
      ev('member.left', 'gA', { userIDs: ['u9'], reason: 'quit' }),
      ev('group.owner_transferred', 'gA', { oldOwnerUserID: 'u1', newOwnerUserID: 'u2' }),
      ev('member.left', 'gA', { userIDs: ['u3'], reason: 'kicked' }),
      ev('group.created', 'gB', {
        group: { ownerUserID: 'u3', createTime: t(11) },
        members: [
          { userID: 'u3', roleLevel: 100, joinTime: t(11) },
          { userID: 'u1', roleLevel: 20, joinTime: t(11) },
        ],
      }),
      ev('group.created', 'gA', {
        group: { ownerUserID: 'u9', createTime: t(12) },
        members: [{ userID: 'u9', roleLevel: 100, joinTime: t(12) }],
      }),
      ev('group.dismissed', 'gB', {}),
      ev('member.joined', 'gB', { members: [{ userID: 'u2', roleLevel: 20, joinTime: t(14) }] }),
      ev('member.joined', 'gA', { members: [{ userID: 'u3', roleLevel: 20, joinTime: t(15) }] }),
      ev('group.owner_transferred', 'gA', { oldOwnerUserID: 'u2', newOwnerUserID: 'u9' }),
    ];
    const outcomes: Outcome[] = [
      'unknown_group',
      'applied',
      'applied',
      'already_member',
      'applied',
      'applied',
      'applied',
      'is_owner',
      'not_member',
      'applied',
      'applied',
      'applied',
      'group_exists',
      'applied',
      'group_dismissed',
      'applied',
      'not_member',
    ];
    return { batch: positioned(100, events), outcomes, t };
  }

  it('reports each event of a first application with its outcome and builds the expected pages', async () => {
    await withModel(redis, { chunkSize: 4 }, async (rm, gen) => {
      const { batch, outcomes, t } = history();
      expect(await rm.apply(gen, 3, batch, batch.at(-1)!.offset)).toEqual(outcomes);

      const u3 = await readAll(rm, 'u3');
      expect(u3.total).toBe(1);
      expect(u3.groups).toEqual([
        {
          groupID: 'gA',
          groupName: 'Renamed / "quoted" ü',
          notification: '',
          introduction: '',
          faceURL: '',
          ownerUserID: 'u2',
          createTime: t(1),
          memberCount: 3,
          ex: '',
          status: 3,
          creatorUserID: 'u1',
          groupType: 2,
          needVerification: 0,
          lookMemberInfo: 0,
          applyMemberFriend: 0,
          notificationUpdateTime: t(4),
          notificationUserID: '',
        },
      ]);
      expect(Object.keys(u3.groups[0]!)).toEqual([...GROUP_INFO_FIELDS]);
      // u3 left gA and rejoined: the list holds the rejoin's time, not the first join's.
      expect(await redis.zscore(rm.keys.entity('userJoined', gen, 'u3'), 'gA')).toBe(String(t(15)));
      // gB was dismissed: it is in nobody's list, u1 sees only gA.
      expect((await readAll(rm, 'u1')).groups.map((g) => g.groupID)).toEqual(['gA']);
      expect((await readAll(rm, 'u2')).groups.map((g) => g.groupID)).toEqual(['gA']);
      expect(await rm.checkpoints(gen)).toEqual({ 3: batch.at(-1)!.offset });
    });
  });

  it('applying the same batch twice leaves every key under the root byte-identical', async () => {
    await withModel(redis, { chunkSize: 4 }, async (rm, gen, root) => {
      const { batch } = history();
      await rm.apply(gen, 3, batch, batch.at(-1)!.offset);
      const first = await dumpRoot(root);
      expect(Object.keys(first).length).toBeGreaterThan(5);

      const again = await rm.apply(gen, 3, batch, batch.at(-1)!.offset);
      // The event for the never-created gX is still unknown; everything else is a redelivery.
      expect(again).toEqual(['unknown_group', ...Array(batch.length - 1).fill('duplicate_offset')]);
      expect(await dumpRoot(root)).toEqual(first);
    });
  });

  it('replaying a prefix of an applied batch (a crash redelivery) changes nothing, checkpoint included', async () => {
    await withModel(redis, { chunkSize: 4 }, async (rm, gen, root) => {
      const { batch } = history();
      await rm.apply(gen, 3, batch, batch.at(-1)!.offset);
      const first = await dumpRoot(root);

      const prefix = batch.slice(0, 7);
      const outcomes = await rm.apply(gen, 3, prefix, prefix.at(-1)!.offset);
      expect(outcomes).toEqual(['unknown_group', ...Array(6).fill('duplicate_offset')]);
      expect(await dumpRoot(root)).toEqual(first);
    });
  });

  it('a crash after some chunks followed by a full replay ends byte-identical to one clean application', async () => {
    const { batch } = history();
    const clean = await withModel(redis, { chunkSize: 4 }, async (rm, gen, root) => {
      await rm.apply(gen, 3, batch, batch.at(-1)!.offset);
      return dumpRoot(root);
    });
    const crashed = await withModel(redis, { chunkSize: 4 }, async (rm, gen, root) => {
      // The first two chunks landed (and their checkpoint), then the process died.
      await rm.apply(gen, 3, batch.slice(0, 8), batch[7]!.offset);
      await rm.apply(gen, 3, batch, batch.at(-1)!.offset);
      return dumpRoot(root);
    });
    // Each root draws its own epoch (the sync routes' versionID): the one key that may differ.
    expect({ ...crashed, ':{}:epoch': null }).toEqual({ ...clean, ':{}:epoch': null });
  });

  it('records the highest checkpoint handled and never moves it back', async () => {
    await withModel(redis, {}, async (rm, gen) => {
      const { batch } = history();
      await rm.apply(gen, 3, batch.slice(0, 5), '104');
      expect(await rm.checkpoints(gen)).toEqual({ 3: '104' });
      await rm.apply(gen, 3, [], '120');
      expect(await rm.checkpoints(gen)).toEqual({ 3: '120' });
      await rm.apply(gen, 3, batch.slice(0, 2), '101');
      expect(await rm.checkpoints(gen)).toEqual({ 3: '120' });
    });
  });
});

// ---------------------------------------------------------------------------
// Re-sent events (same eventID, later offset) and the dedupe window

describe('re-sent events and the dedupe window', () => {
  /**
   * gA is created, u3 joins (eventID `joinID`), then u3 leaves: re-applying
   * the join would visibly put u3 back in gA.
   */
  async function joinThenLeave(rm: ReadModel, gen: number) {
    const ev = eventFactory();
    const joinID = uniqueId('join');
    const join = ev('member.joined', 'gA', { members: [{ userID: 'u3', roleLevel: 20, joinTime: BASE_TIME + 5 }] }, joinID);
    const batch = positioned(10, [
      ev('group.created', 'gA', {
        group: { ownerUserID: 'u1', createTime: BASE_TIME },
        members: [{ userID: 'u1', roleLevel: 100, joinTime: BASE_TIME }],
      }),
      join,
      ev('member.left', 'gA', { userIDs: ['u3'], reason: 'quit' }),
    ]);
    expect(await rm.apply(gen, 0, batch)).toEqual(['applied', 'applied', 'applied']);
    expect((await readAll(rm, 'u3')).total).toBe(0);
    return { ev, join };
  }

  it('a late duplicate within the window is reported as duplicate_event and changes nothing', async () => {
    await withModel(redis, { dedupeWindow: 4 }, async (rm, gen, root) => {
      const { join } = await joinThenLeave(rm, gen);
      const before = await dumpRoot(root);

      expect(await rm.apply(gen, 0, [{ offset: '13', event: join }])).toEqual(['duplicate_event']);
      expect(await dumpRoot(root)).toEqual(before);
      expect((await readAll(rm, 'u3')).total).toBe(0);
    });
  });

  it('the same eventID once 4 newer events of the group were recorded (window 4) is applied again', async () => {
    await withModel(redis, { dedupeWindow: 4 }, async (rm, gen) => {
      const { ev, join } = await joinThenLeave(rm, gen);
      // The leave (12) and three newer events (13..15) are the newest four: the join (11) drops out.
      const newer = positioned(13, [1, 2, 3].map((i) => ev('group.info_updated', 'gA', { groupName: `name ${i}` })));
      expect(await rm.apply(gen, 0, newer)).toEqual(['applied', 'applied', 'applied']);

      // The window is a bound, not a guarantee: the old join is new to it again.
      expect(await rm.apply(gen, 0, [{ offset: '16', event: join }])).toEqual(['applied']);
      const u3 = await readAll(rm, 'u3');
      expect(u3.groups.map((g) => [g.groupID, g.memberCount])).toEqual([['gA', 2]]);
    });
  });

  it('a group with more events in one failed call than the window holds gets none of them applied twice', async () => {
    // The join drops out of the window within the call; were its offset not
    // recorded before that, the redelivery would apply it again (u3 back in gA).
    const ev = eventFactory();
    const batch = positioned(10, [
      ev('group.created', 'gA', { group: { ownerUserID: 'u1', createTime: BASE_TIME }, members: [{ userID: 'u1', roleLevel: 100, joinTime: BASE_TIME }] }),
      ev('member.joined', 'gA', { members: [{ userID: 'u3', roleLevel: 20, joinTime: BASE_TIME + 5 }] }),
      ...[1, 2, 3, 4, 5].map((i) => ev('group.info_updated', 'gA', { groupName: `name ${i}` })),
      ev('member.left', 'gA', { userIDs: ['u3'], reason: 'quit' }),
    ]);
    let crashed = true;
    for (let k = 0; crashed; k++) {
      await withModel(redis, { dedupeWindow: 4 }, async (rm, gen) => {
        crashed = await crashingApplier(rm, k).apply(gen, 0, batch).then(
          () => false,
          (err: unknown) => (String(err).includes('INJECTED') ? true : Promise.reject(err)),
        );
        await rm.apply(gen, 0, batch);
        expect((await readAll(rm, 'u3')).total, `crash after ${k} writes`).toBe(0);
        const [card] = (await readAll(rm, 'u1')).groups;
        expect(card, `crash after ${k} writes`).toMatchObject({ groupName: 'name 5', memberCount: 1 });
      });
    }
  });

  it('a re-sent event still among the newest `dedupeWindow` event IDs of the group is a duplicate', async () => {
    await withModel(redis, { dedupeWindow: 4 }, async (rm, gen) => {
      const { ev, join } = await joinThenLeave(rm, gen);
      // Two newer events (13, 14): the join (11) is the fourth newest (11, 12, 13, 14).
      const newer = positioned(13, [1, 2].map((i) => ev('group.info_updated', 'gA', { groupName: `name ${i}` })));
      await rm.apply(gen, 0, newer);
      expect(await rm.apply(gen, 0, [{ offset: '15', event: join }])).toEqual(['duplicate_event']);
      expect((await readAll(rm, 'u3')).total).toBe(0);
    });
  });
});
