import { decodeEvent, type EventType, type GroupEvent } from '@imgroups/contracts';
import { uniqueId } from '@imgroups/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Outcome } from './evolve.js';
import { ReadModel } from './read-model.js';
import { ReferenceModel } from './reference-model.js';
import { crashingApplier } from './test-helpers.js';
import type { RedisClient } from './redis-client.js';
import { testRedis } from './redis.test-helpers.js';

/**
 * Event stream v1.1 (CONTRACT.md §2) by example: `seq` orders changes per
 * entity, tombstones are bounded, snapshots in parts apply whole. The random
 * histories are in test/reliability/property.rel.spec.ts; every example here
 * is also checked against the reference model.
 */

let redis: RedisClient;
beforeAll(() => {
  redis = testRedis(inject('testEnv'));
});
afterAll(() => redis.quit());

const T = 1_700_000_000_000;
const G = 'g1';

/** A stream of one group's events on partition 0, applied to Redis and to the reference alike. */
async function stream(options: { dedupeWindow?: number; seqTombstones?: number } = {}) {
  const root = uniqueId('seq');
  const dedupeWindow = options.dedupeWindow ?? 128;
  const rm = new ReadModel(redis, { root, dedupeWindow, seqTombstones: options.seqTombstones });
  const model = new ReferenceModel(dedupeWindow, options.seqTombstones);
  const gen = await rm.generations.ensureActive();
  let offset = 0;
  let n = 0;
  const make = (type: EventType, data: unknown, seq?: number, eventID = `${root}-${n++}`): GroupEvent => {
    const r = decodeEvent(JSON.stringify({ eventID, type, version: 1, groupID: G, occurredAt: T, operatorUserID: 'op', seq, data }));
    if (!r.ok) throw new Error(r.reason);
    return r.event;
  };
  /** Delivers events at the next offsets; returns Redis' outcomes, checked equal to the model's. */
  const send = async (...events: GroupEvent[]): Promise<Outcome[]> => {
    const positioned = events.map((event) => ({ offset: String(offset++), event }));
    const got = await rm.apply(gen, 0, positioned);
    expect(got).toEqual(positioned.map((p) => model.deliver(Number(p.offset), p.event)));
    return got;
  };
  const members = async () => {
    const page = await rm.readMemberPage(G, { userID: 'admin', isAdmin: true }, 0, 1000);
    const got = page.outcome === 'ok' ? (JSON.parse(`[${page.membersJson}]`) as { userID: string; roleLevel: number; joinTime: number }[]) : [];
    const g = model.groups.get(G);
    const want = g && !g.dismissed ? [...g.members].map(([userID, m]) => ({ userID, roleLevel: m.role, joinTime: m.joinTime })) : [];
    const norm = (xs: { userID: string; roleLevel: number; joinTime: number }[]) =>
      xs.map((m) => `${m.userID}:${m.roleLevel}:${m.joinTime}`).sort();
    expect(norm(got)).toEqual(norm(want));
    return norm(got);
  };
  const card = async () => {
    const raw = await redis.get(rm.keys.entity('groupCard', gen, G));
    const got = raw === null ? null : (JSON.parse(raw) as Record<string, unknown>);
    expect(got).toEqual(model.card(G));
    return got;
  };
  const created = (seq?: number, others: string[] = []) =>
    make(
      'group.created',
      {
        group: { ownerUserID: 'o', createTime: T, groupName: 'first' },
        members: [{ userID: 'o', roleLevel: 100, joinTime: T }, ...others.map((u) => ({ userID: u, roleLevel: 20, joinTime: T }))],
      },
      seq,
    );
  const snapshot = (seq: number | undefined, group: Record<string, unknown>, list: [string, number][], part?: [number, number]) =>
    make(
      'group.snapshot',
      {
        group: { groupID: G, ownerUserID: 'o', createTime: T, status: 0, ...group },
        members: list.map(([userID, joinTime]) => ({ userID, roleLevel: userID === 'o' ? 100 : 20, joinTime })),
        ...(part ? { part: part[0], parts: part[1] } : {}),
      },
      seq,
    );
  return { make, send, members, card, created, snapshot, rm, gen, model };
}

describe('seq orders changes per entity', () => {
  it('a late, older change to a membership or to the group info changes nothing', async () => {
    const s = await stream();
    await s.send(s.created(1));
    const join = s.make('member.joined', { members: [{ userID: 'u1', roleLevel: 20, joinTime: T + 5 }] }, 5);
    const leave = s.make('member.left', { userIDs: ['u1'], reason: 'quit' }, 7);
    expect(await s.send(leave, join)).toEqual(['not_member', 'stale_seq']);
    expect(await s.members()).toEqual([`o:100:${T}`]);
    const rename = (name: string, seq: number) => s.make('group.info_updated', { groupName: name }, seq);
    expect(await s.send(rename('newer', 9), rename('older', 8))).toEqual(['applied', 'stale_seq']);
    expect(await s.card()).toMatchObject({ groupName: 'newer' });
  });

  it('several events with one seq change several entities; for one entity only the first counts', async () => {
    const s = await stream();
    await s.send(s.created(1, ['u1', 'u2']));
    const roles = ['u1', 'u2'].map((u) => s.make('member.role_changed', { userID: u, roleLevel: 60 }, 4));
    expect(await s.send(...roles)).toEqual(['applied', 'applied']);
    const info = s.make('group.info_updated', { groupName: 'same V' }, 4);
    expect(await s.send(info, s.make('group.info_updated', { groupName: 'same V' }, 4))).toEqual(['applied', 'stale_seq']);
    expect(await s.members()).toEqual([`o:100:${T}`, `u1:60:${T}`, `u2:60:${T}`]);
  });

  it('a re-send of any age, long out of the dedupe window, is a no-op: the leave keeps its tombstone', async () => {
    const s = await stream({ dedupeWindow: 2 });
    await s.send(s.created(1));
    const join = s.make('member.joined', { members: [{ userID: 'u1', roleLevel: 20, joinTime: T + 1 }] }, 2);
    await s.send(join, s.make('member.left', { userIDs: ['u1'], reason: 'kicked' }, 3));
    for (let v = 4; v < 10; v++) await s.send(s.make('group.info_updated', { notification: `n${v}` }, v));
    expect(await s.send(join)).toEqual(['stale_seq']);
    expect(await s.members()).toEqual([`o:100:${T}`]);
  });

  it('a call that failed after some members of an event were recorded: the redelivery applies the rest and re-counts', async () => {
    // Found by the property test: the first member's version was written,
    // the count was not; on redelivery that member is stale, the second new.
    for (let crashAfter = 0; crashAfter <= 14; crashAfter++) {
      const s = await stream();
      await s.send(s.created(1));
      const join = s.make('member.joined', { members: ['u1', 'u2'].map((userID) => ({ userID, roleLevel: 20, joinTime: T + 2 })) }, 2);
      const leave = s.make('member.left', { userIDs: ['u1', 'u2'], reason: 'kicked' }, 3);
      for (const [offset, event, count] of [['1', join, 3], ['2', leave, 1]] as const) {
        const failed = await crashingApplier(s.rm, crashAfter)
          .apply(s.gen, 0, [{ offset, event }])
          .then(() => false, (err: unknown) => String(err).includes('INJECTED') || Promise.reject(err));
        // The redelivery's outcome may differ from a first delivery's; the state may not.
        await s.rm.apply(s.gen, 0, [{ offset, event }]);
        if (!failed) expect(await s.rm.apply(s.gen, 0, [{ offset, event }])).toEqual(['duplicate_offset']);
        s.model.deliver(Number(offset), event);
        expect(await s.card(), `crash after ${crashAfter} writes`).toMatchObject({ memberCount: count });
        await s.members();
      }
    }
  });

  it('a transfer half-applied by a call that failed: the redelivery gives the old owner the new owner\'s former role, not 100', async () => {
    for (const seq of [undefined, 2]) {
      for (let crashAfter = 0; crashAfter <= 6; crashAfter++) {
        const s = await stream();
        await s.send(s.created(1, ['u1']));
        const transfer = s.make('group.owner_transferred', { oldOwnerUserID: 'o', newOwnerUserID: 'u1' }, seq);
        await crashingApplier(s.rm, crashAfter)
          .apply(s.gen, 0, [{ offset: '1', event: transfer }])
          .catch((err: unknown) => expect(String(err)).toContain('INJECTED'));
        await s.rm.apply(s.gen, 0, [{ offset: '1', event: transfer }]);
        s.model.deliver(1, transfer);
        expect(await s.members(), `seq ${seq}, crash after ${crashAfter} writes`).toEqual([`o:20:${T}`, `u1:100:${T}`]);
        await s.card();
      }
    }
  });

  it('a rename half-applied by a call that failed, then redelivered with a join in the same call: the card stays whole', async () => {
    // Found by the property test: the card was written, its count's offset (_n) was not.
    for (let crashAfter = 0; crashAfter <= 8; crashAfter++) {
      const s = await stream();
      await s.send(s.created(undefined, ['u1']));
      const rename = s.make('group.info_updated', { groupName: 'a much longer name than before' });
      const join = s.make('member.joined', { members: [{ userID: 'u2', roleLevel: 20, joinTime: T + 3 }] });
      const chunk = [{ offset: '1', event: rename }, { offset: '2', event: join }];
      await crashingApplier(s.rm, crashAfter)
        .apply(s.gen, 0, chunk)
        .catch((err: unknown) => expect(String(err)).toContain('INJECTED'));
      await s.rm.apply(s.gen, 0, chunk);
      for (const { offset, event } of chunk) s.model.deliver(Number(offset), event);
      expect(await s.card(), `crash after ${crashAfter} writes`).toMatchObject({ memberCount: 3, groupName: 'a much longer name than before' });
    }
  });

  it('a newer join of a current member takes its join time: the leave between them never came', async () => {
    const s = await stream();
    await s.send(s.created(1, ['u1']));
    expect(await s.send(s.make('member.joined', { members: [{ userID: 'u1', roleLevel: 60, joinTime: T + 9 }] }, 6))).toEqual(['applied']);
    expect(await s.send(s.make('member.left', { userIDs: ['u1'], reason: 'quit' }, 5))).toEqual(['stale_seq']);
    expect(await s.members()).toEqual([`o:100:${T}`, `u1:60:${T + 9}`]);
    expect((await s.rm.readPage('u1', 0, 10)).total).toBe(1);
  });

  it('keeps at most the bound of tombstones; a change older than the dropped ones is stale', async () => {
    const s = await stream({ seqTombstones: 2 });
    await s.send(s.created(1, ['a', 'b', 'c']));
    await s.send(...['a', 'b', 'c'].map((u, i) => s.make('member.left', { userIDs: [u], reason: 'quit' }, 10 + i)));
    expect(await redis.zrange(s.rm.keys.entity('groupGone', s.gen, G), 0, -1)).toEqual(['b', 'c']);
    // 'a' left at 10, its tombstone is gone, but the floor (10) still makes its join at 9 stale.
    const lateJoin = (u: string, seq: number) => s.make('member.joined', { members: [{ userID: u, roleLevel: 20, joinTime: T + seq }] }, seq);
    expect(await s.send(lateJoin('a', 9))).toEqual(['stale_seq']);
    expect(await s.send(lateJoin('z', 10))).toEqual(['stale_seq']);
    expect(await s.send(lateJoin('a', 13))).toEqual(['applied']);
    await s.members();
  });

  it('an owner transfer gives the old owner the role the new owner had, as upstream', async () => {
    const s = await stream();
    await s.send(s.created(1, ['u1']));
    await s.send(s.make('member.role_changed', { userID: 'u1', roleLevel: 60 }, 2));
    await s.send(s.make('group.owner_transferred', { oldOwnerUserID: 'o', newOwnerUserID: 'u1' }, 3));
    expect(await s.members()).toEqual([`o:60:${T}`, `u1:100:${T}`]);
    expect(await s.card()).toMatchObject({ ownerUserID: 'u1' });
  });
});

describe('group.snapshot', () => {
  it('creates an unknown group, or replaces what is known when newer: absent members leave, new ones join', async () => {
    const s = await stream();
    expect(await s.send(s.snapshot(5, { groupName: 'snap' }, [['o', T], ['u1', T + 1]]))).toEqual(['applied']);
    expect(await s.card()).toMatchObject({ groupName: 'snap', memberCount: 2, status: 0 });
    await s.send(s.snapshot(8, { groupName: 'later', status: 3 }, [['o', T], ['u2', T + 2]]));
    expect(await s.members()).toEqual([`o:100:${T}`, `u2:20:${T + 2}`]);
    expect(await s.card()).toMatchObject({ groupName: 'later', memberCount: 2, status: 3 });
    expect((await s.rm.readPage('u1', 0, 10)).total).toBe(0);
  });

  it('racing live events: an older snapshot leaves newer changes of the entities alone', async () => {
    const s = await stream();
    await s.send(s.created(1, ['u1']));
    await s.send(s.make('member.joined', { members: [{ userID: 'u2', roleLevel: 20, joinTime: T + 6 }] }, 6));
    await s.send(s.make('group.info_updated', { groupName: 'live' }, 7));
    // The state at 4: u1 there, u2 not yet, the old name.
    await s.send(s.snapshot(4, { groupName: 'old' }, [['o', T], ['u1', T]]));
    expect(await s.members()).toEqual([`o:100:${T}`, `u1:20:${T}`, `u2:20:${T + 6}`]);
    expect(await s.card()).toMatchObject({ groupName: 'live', memberCount: 3 });
  });

  it('in parts: nothing shows until the last part, then the whole; a part out of sequence is an orphan', async () => {
    const s = await stream();
    await s.send(s.created(1, ['old']));
    expect(await s.send(s.snapshot(9, {}, [['o', T], ['p1', T]], [1, 3]))).toEqual(['snapshot_part_held']);
    expect(await s.members()).toEqual([`o:100:${T}`, `old:20:${T}`]);
    expect(await s.send(s.snapshot(9, {}, [['p3', T]], [3, 3]))).toEqual(['snapshot_part_orphan']);
    expect(await s.send(s.snapshot(9, {}, [['p2', T]], [2, 3]))).toEqual(['snapshot_part_held']);
    expect(await s.send(s.snapshot(9, {}, [['p3', T]], [3, 3]))).toEqual(['applied']);
    expect(await s.members()).toEqual([`o:100:${T}`, `p1:20:${T}`, `p2:20:${T}`, `p3:20:${T}`]);
    expect(await s.card()).toMatchObject({ memberCount: 4 });
    expect(await redis.exists(s.rm.keys.entity('groupSnapshot', s.gen, G), s.rm.keys.entity('groupSnapshotMembers', s.gen, G))).toBe(0);
  });

  it('with status 2 dismisses the group; an unknown group is known from then on as dismissed', async () => {
    const s = await stream();
    await s.send(s.created(1, ['u1']));
    await s.send(s.snapshot(3, { status: 2 }, []));
    expect(await s.card()).toBeNull();
    expect((await s.rm.readPage('u1', 0, 10)).total).toBe(0);
    expect(await s.send(s.make('member.joined', { members: [{ userID: 'u1', roleLevel: 20, joinTime: T }] }, 4))).toEqual(['group_dismissed']);
    const info = await s.rm.readGroupsInfo([G]);
    expect(JSON.parse(`[${info.groupsJson}]`)).toMatchObject([{ groupID: G, status: 2, memberCount: 0 }]);
  });
});
