import { decodeEvent, GROUP_INFO_FIELDS, NUMERIC_GROUP_FIELDS, type EventType, type GroupEvent } from '@imgroups/contracts';
import { uniqueId, waitFor } from '@imgroups/testing';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { OUTCOMES, V1_1_OUTCOMES, type Outcome } from './evolve.js';
import type { PositionedEvent } from './apply.js';
import { crashingApplier } from './test-helpers.js';
import { ReadModel } from './read-model.js';
import { ReferenceModel } from './reference-model.js';

/**
 * The ReadModel (apply and page Lua scripts) against a real Redis: the
 * idempotency guards, the dedupe window, memberCount against a plain
 * in-memory model of the spec, and the cost of a page read. Every test works
 * under its own key root and removes it at the end; nothing flushes Redis.
 */

let redis: Redis;

beforeAll(() => {
  redis = new Redis(inject('testEnv').redisUrl);
});

afterAll(async () => {
  await redis.quit();
});

// ---------------------------------------------------------------------------
// Helpers: events through the real decoder, dumps of a key root.

const BASE_TIME = 1_700_000_000_000;

/** Builds valid events (through decodeEvent) with unique eventIDs. */
function eventFactory() {
  const prefix = uniqueId('ev');
  let n = 0;
  return (type: EventType, groupID: string, data: unknown, eventID = `${prefix}-${n++}`): GroupEvent => {
    const raw = { eventID, type, version: 1, groupID, occurredAt: BASE_TIME + n, operatorUserID: 'op', data };
    const r = decodeEvent(JSON.stringify(raw));
    if (!r.ok) throw new Error(`test event invalid (${r.kind}): ${r.reason}`);
    return r.event;
  };
}

/** Events at consecutive offsets from `first`, as decimal strings. */
function positioned(first: number, events: GroupEvent[]): PositionedEvent[] {
  return events.map((event, i) => ({ offset: String(first + i), event }));
}

async function keysUnder(root: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${root}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return [...new Set(keys)].sort();
}

interface KeyDump {
  type: string;
  /** Readable contents, for a useful diff. */
  content: unknown;
  /** DUMP serialization (hex): byte-level equality, encoding included. */
  dump: string;
  ttl: number;
}

/** Every key under `root` (the root itself stripped from the names), sorted. */
async function dumpRoot(root: string): Promise<Record<string, KeyDump>> {
  const out: Record<string, KeyDump> = {};
  for (const key of await keysUnder(root)) {
    const type = await redis.type(key);
    let content: unknown;
    if (type === 'string') content = await redis.get(key);
    else if (type === 'hash') content = Object.entries(await redis.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : 1));
    else if (type === 'zset') content = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else content = `unexpected type ${type}`;
    const dump = (await redis.dumpBuffer(key))?.toString('hex') ?? '';
    out[key.slice(root.length)] = { type, content, dump, ttl: await redis.pttl(key) };
  }
  return out;
}

async function dropRoot(root: string) {
  const keys = await keysUnder(root);
  for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000));
}

/** Runs `fn` with a fresh ReadModel on its own root, removed afterwards. */
async function withModel<T>(
  options: { dedupeWindow?: number; chunkSize?: number },
  fn: (rm: ReadModel, gen: number, root: string) => Promise<T>,
): Promise<T> {
  const root = uniqueId('rmt');
  const rm = new ReadModel(redis, { root, dedupeWindow: options.dedupeWindow ?? 1000, chunkSize: options.chunkSize });
  try {
    return await fn(rm, await rm.generations.ensureActive(), root);
  } finally {
    await dropRoot(root);
  }
}

type Card = Record<string, unknown>;

async function readAll(rm: ReadModel, userID: string): Promise<{ total: number; groups: Card[] }> {
  const page = await rm.readPage(userID, 0, 1000);
  return { total: page.total, groups: JSON.parse(`[${page.groupsJson}]`) as Card[] };
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
    await withModel({ chunkSize: 4 }, async (rm, gen) => {
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
    await withModel({ chunkSize: 4 }, async (rm, gen, root) => {
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
    await withModel({ chunkSize: 4 }, async (rm, gen, root) => {
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
    const clean = await withModel({ chunkSize: 4 }, async (rm, gen, root) => {
      await rm.apply(gen, 3, batch, batch.at(-1)!.offset);
      return dumpRoot(root);
    });
    const crashed = await withModel({ chunkSize: 4 }, async (rm, gen, root) => {
      // The first two chunks landed (and their checkpoint), then the process died.
      await rm.apply(gen, 3, batch.slice(0, 8), batch[7]!.offset);
      await rm.apply(gen, 3, batch, batch.at(-1)!.offset);
      return dumpRoot(root);
    });
    expect(crashed).toEqual(clean);
  });

  it('records the highest checkpoint handled and never moves it back', async () => {
    await withModel({}, async (rm, gen) => {
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
    await withModel({ dedupeWindow: 4 }, async (rm, gen, root) => {
      const { join } = await joinThenLeave(rm, gen);
      const before = await dumpRoot(root);

      expect(await rm.apply(gen, 0, [{ offset: '13', event: join }])).toEqual(['duplicate_event']);
      expect(await dumpRoot(root)).toEqual(before);
      expect((await readAll(rm, 'u3')).total).toBe(0);
    });
  });

  it('the same eventID once 4 newer events of the group were recorded (window 4) is applied again', async () => {
    await withModel({ dedupeWindow: 4 }, async (rm, gen) => {
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
      await withModel({ dedupeWindow: 4 }, async (rm, gen) => {
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
    await withModel({ dedupeWindow: 4 }, async (rm, gen) => {
      const { ev, join } = await joinThenLeave(rm, gen);
      // Two newer events (13, 14): the join (11) is the fourth newest (11, 12, 13, 14).
      const newer = positioned(13, [1, 2].map((i) => ev('group.info_updated', 'gA', { groupName: `name ${i}` })));
      await rm.apply(gen, 0, newer);
      expect(await rm.apply(gen, 0, [{ offset: '15', event: join }])).toEqual(['duplicate_event']);
      expect((await readAll(rm, 'u3')).total).toBe(0);
    });
  });
});

// ---------------------------------------------------------------------------
// The read model against a plain in-memory model of the spec

describe('the read model against an in-memory reference', () => {
  // Group IDs whose byte order differs from numeric and from UTF-16 order ('Ａ' vs '😀').
  const GROUP_IDS = ['2137448827', '10', '9', 'Ａ', '😀'];
  const USER_IDS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', '3517105008'];
  const PARTITIONS = 2;
  const partitionOf = (groupIndex: number) => groupIndex % PARTITIONS;

  // Half the users and two of the groups are "hot", so histories collide
  // (joins of members, leaves of non-members, events after a dismissal) often.
  const arbUser = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...USER_IDS.slice(0, 4)) },
    { weight: 1, arbitrary: fc.constantFrom(...USER_IDS) },
  );
  const arbGroup = fc.oneof(
    { weight: 3, arbitrary: fc.nat(1) },
    { weight: 1, arbitrary: fc.nat(GROUP_IDS.length - 1) },
  );
  const arbText = fc.oneof(
    fc.constantFrom('', 'a/b', 'quote " back\\slash', 'ünï 😀 中文', 'tab\tnl\n', '1e400', 'null', '{"j":1}'),
    fc.string({ maxLength: 8 }),
  );
  // Few distinct join times, so ties (ordered by groupID) are common.
  const arbJoinTime = fc.integer({ min: 0, max: 3 }).map((k) => BASE_TIME + k * 1000);
  const arbMember = (userID: string, roles: number[]) =>
    fc.record(
      {
        userID: fc.constant(userID),
        roleLevel: fc.constantFrom(...roles),
        joinTime: arbJoinTime,
        joinSource: fc.constantFrom(1, 2, 3, 4),
        inviterUserID: arbUser,
      },
      { requiredKeys: ['userID', 'roleLevel', 'joinTime'] },
    );

  const arbCreated = fc
    .tuple(arbUser, fc.subarray(USER_IDS), fc.boolean())
    .chain(([owner, others, withGroupID]) =>
      fc.record({
        group: fc
          .record(
            {
              groupName: arbText,
              notification: arbText,
              introduction: arbText,
              faceURL: arbText,
              ex: arbText,
              creatorUserID: arbUser,
              groupType: fc.constantFrom(0, 1, 2),
              needVerification: fc.constantFrom(0, 1, 2),
              lookMemberInfo: fc.constantFrom(0, 1),
              applyMemberFriend: fc.constantFrom(0, 1),
              notificationUpdateTime: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
              notificationUserID: arbUser,
              createTime: fc.integer({ min: 0, max: BASE_TIME * 2 }),
            },
            { requiredKeys: ['createTime'] },
          )
          .map((g) => ({ ...g, ownerUserID: owner, ...(withGroupID ? { groupID: '$header' } : {}) })),
        members: fc.tuple(
          arbMember(owner, [20, 60, 100]),
          ...others.filter((u) => u !== owner).map((u) => arbMember(u, [20, 60])),
        ),
      }),
    );

  const arbInfo = fc
    .record(
      {
        groupName: arbText,
        notification: arbText,
        introduction: arbText,
        faceURL: arbText,
        ex: arbText,
        needVerification: fc.constantFrom(0, 1, 2),
        lookMemberInfo: fc.constantFrom(0, 1),
        applyMemberFriend: fc.constantFrom(0, 1),
        notificationUpdateTime: fc.nat(),
        notificationUserID: arbUser,
      },
      { requiredKeys: [] },
    )
    .filter((p) => Object.keys(p).length > 0);

  const body = <T extends EventType>(type: T, data: fc.Arbitrary<unknown>) => data.map((d) => ({ type, data: d }));
  const arbBody = fc.oneof(
    { weight: 3, arbitrary: body('group.created', arbCreated) },
    {
      weight: 4,
      arbitrary: body(
        'member.joined',
        fc
          .uniqueArray(arbUser, { minLength: 1, maxLength: 3 })
          .chain((us) => fc.tuple(...us.map((u) => arbMember(u, [20, 60]))))
          .map((members) => ({ members })),
      ),
    },
    {
      weight: 3,
      arbitrary: body(
        'member.left',
        fc.record({ userIDs: fc.array(arbUser, { minLength: 1, maxLength: 3 }), reason: fc.constantFrom('quit', 'kicked') }),
      ),
    },
    { weight: 2, arbitrary: body('member.role_changed', fc.record({ userID: arbUser, roleLevel: fc.constantFrom(20, 60) })) },
    {
      weight: 2,
      arbitrary: body('group.owner_transferred', fc.record({ oldOwnerUserID: arbUser, newOwnerUserID: arbUser })),
    },
    { weight: 1, arbitrary: body('group.dismissed', fc.constant({})) },
    { weight: 2, arbitrary: body('group.info_updated', arbInfo) },
    { weight: 1, arbitrary: body('group.status_changed', fc.record({ status: fc.constantFrom(0, 1, 3) })) },
  );

  /** A producer's step: a new event, or a re-send of an earlier one (same eventID, new offset). */
  const arbStep = fc.oneof(
    { weight: 9, arbitrary: fc.record({ kind: fc.constant('event' as const), g: arbGroup, body: arbBody }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('resend' as const), pick: fc.nat() }) },
  );

  /** The consumer: batches of `size` log entries; after each, a crash may rewind it by `rewind`. */
  const arbSchedule = fc.array(
    fc.record({
      size: fc.integer({ min: 1, max: 8 }),
      rewind: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 10 }) }),
    }),
    { maxLength: 30 },
  );

  interface LogEntry {
    partition: number;
    offset: number;
    event: GroupEvent;
  }

  function buildLog(steps: StepValue[], firstOffset: number): LogEntry[] {
    const log: LogEntry[] = [];
    const next = Array.from({ length: PARTITIONS }, () => firstOffset);
    steps.forEach((step, i) => {
      if (step.kind === 'resend') {
        const original = log[step.pick % Math.max(1, log.length)];
        if (original) log.push({ ...original, offset: next[original.partition]!++ });
        return;
      }
      const groupID = GROUP_IDS[step.g]!;
      let data = step.body.data;
      if (step.body.type === 'group.created') {
        const created = data as { group: Record<string, unknown> };
        if (created.group.groupID === '$header') data = { ...created, group: { ...created.group, groupID } };
      }
      const raw = { eventID: `e${i}`, type: step.body.type, version: 1, groupID, occurredAt: BASE_TIME + i, operatorUserID: 'op', data };
      const r = decodeEvent(JSON.stringify(raw));
      if (!r.ok) throw new Error(`generator made an invalid event (${r.reason}): ${JSON.stringify(raw)}`);
      const partition = partitionOf(step.g);
      log.push({ partition, offset: next[partition]!++, event: r.event });
    });
    return log;
  }
  type StepValue = typeof arbStep extends fc.Arbitrary<infer S> ? S : never;

  const observed = new Set<Outcome>();

  it('pages, memberCount and outcomes match the reference after random histories with redeliveries', async () => {
    await fc.assert(
      fc.asyncProperty(
        // A random subset of the groups is created up front; the rest may be created later, or never.
        fc
          .tuple(
            fc.subarray([...GROUP_IDS.keys()]).chain((gs) =>
              fc.tuple(...gs.map((g) => body('group.created', arbCreated).map((b) => ({ kind: 'event' as const, g, body: b })))),
            ),
            fc.array(arbStep, { minLength: 10, maxLength: 60 }),
          )
          .map(([prelude, rest]): StepValue[] => [...prelude, ...rest]),
        arbSchedule,
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(0, 1_000_000_000_000),
        async (steps, schedule, chunkSize, firstOffset) => {
          await withModel({ chunkSize, dedupeWindow: 10_000 }, async (rm, gen) => {
            const log = buildLog(steps, firstOffset);
            const ref = new ReferenceModel();
            const delivered = new Map<number, number>();

            let pos = 0;
            for (let k = 0; pos < log.length; k++) {
              const { size, rewind } = schedule[k] ?? { size: 8, rewind: 0 };
              const slice = log.slice(pos, pos + size);
              for (let p = 0; p < PARTITIONS; p++) {
                const part = slice.filter((x) => x.partition === p);
                if (part.length === 0) continue;
                const last = part.at(-1)!.offset;
                const actual = await rm.apply(
                  gen,
                  p,
                  part.map((x) => ({ offset: String(x.offset), event: x.event })),
                  String(last),
                );
                const expected = part.map((x) => ref.deliver(x.offset, x.event));
                expect(actual).toEqual(expected);
                actual.forEach((o) => observed.add(o));
                delivered.set(p, Math.max(delivered.get(p) ?? -1, last));
              }
              pos = Math.max(0, pos + slice.length - rewind);
            }

            // Every user's list, read in pages of 3 (and one page past the end).
            for (const userID of USER_IDS) {
              const expected = ref.list(userID);
              const got: Card[] = [];
              for (let start = 0; start <= expected.length; start += 3) {
                const page = await rm.readPage(userID, start, 3);
                expect(page.total).toBe(expected.length);
                expect(page.generation).toBe(gen);
                got.push(...(JSON.parse(`[${page.groupsJson}]`) as Card[]));
              }
              expect(got).toEqual(expected);
              for (const card of got) expect(Object.keys(card)).toEqual([...GROUP_INFO_FIELDS]);
              // The join times behind that order (a rejoin carries its new time).
              expect(await redis.zrange(rm.keys.entity('userJoined', gen, userID), 0, -1, 'WITHSCORES')).toEqual(
                ref.joinTimes(userID).flatMap(([g, t]) => [g, String(t)]),
              );
            }

            // memberCount is the member set's size for every group, member or not, in Redis itself too.
            for (const groupID of GROUP_IDS) {
              const raw = await redis.get(rm.keys.entity('groupCard', gen, groupID));
              expect(raw === null ? null : JSON.parse(raw)).toEqual(ref.card(groupID));
              const members = await redis.zcard(rm.keys.entity('groupMembers', gen, groupID));
              expect(members).toBe(ref.groups.get(groupID)?.members.size ?? 0);
              expect(await redis.hlen(rm.keys.entity('groupMemberInfo', gen, groupID))).toBe(members);
            }

            const checkpoints = Object.fromEntries([...delivered].map(([p, o]) => [String(p), String(o)]));
            expect(await rm.checkpoints(gen)).toEqual(checkpoints);
          });
        },
      ),
      { numRuns: 150 },
    );
    // The histories reached every outcome the apply script can report.
    expect([...observed].sort()).toEqual(OUTCOMES.filter((o) => !V1_1_OUTCOMES.includes(o)).sort());
  });

  it('any group name the decoder accepts comes back unchanged from a page read', async () => {
    // Every UTF-16 code unit, lone surrogates included: the decoder must turn
    // away what Redis's Lua cjson cannot carry, and keep everything else exact.
    const arbCodeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 });
    await withModel({}, async (rm, gen) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(arbCodeUnits, async (name) => {
          const i = n++;
          const raw = JSON.stringify({
            eventID: `n${i}`,
            type: 'group.created',
            version: 1,
            groupID: `g${i}`,
            occurredAt: 1,
            data: {
              group: { ownerUserID: `u${i}`, createTime: 1, groupName: name },
              members: [{ userID: `u${i}`, roleLevel: 100, joinTime: 1 }],
            },
          });
          const decoded = decodeEvent(raw);
          if (!decoded.ok) {
            expect(decoded.kind).toBe('schema');
            expect(name).toMatch(/\p{Cs}/u);
            return;
          }
          expect(await rm.apply(gen, 0, [{ offset: String(i), event: decoded.event }])).toEqual(['applied']);
          const page = await readAll(rm, `u${i}`);
          expect(page.groups[0]?.groupName).toBe(name);
        }),
        { numRuns: 300 },
      );
    });
  });
});

// ---------------------------------------------------------------------------
// Page reads

describe('page reads', () => {
  it('return the total with an empty list past the end, and the total with no groups for count 0', async () => {
    await withModel({}, async (rm, gen) => {
      const ev = eventFactory();
      const events = ['gA', 'gB', 'gC'].map((g, i) =>
        ev('group.created', g, {
          group: { ownerUserID: 'u1', createTime: 1 },
          members: [{ userID: 'u1', roleLevel: 100, joinTime: BASE_TIME + i }],
        }),
      );
      await rm.apply(gen, 0, positioned(0, events));

      expect(await rm.readPage('u1', 3, 10)).toEqual({ total: 3, groupsJson: '', generation: gen });
      expect(await rm.readPage('u1', 1000, 10)).toEqual({ total: 3, groupsJson: '', generation: gen });
      expect(await rm.readPage('u1', 0, 0)).toEqual({ total: 3, groupsJson: '', generation: gen });
      const tail = await rm.readPage('u1', 2, 10);
      expect(tail.total).toBe(3);
      expect((JSON.parse(`[${tail.groupsJson}]`) as Card[]).map((g) => g.groupID)).toEqual(['gC']);
      expect(await rm.readPage('nobody', 0, 10)).toEqual({ total: 0, groupsJson: '', generation: gen });
    });
  });

  it('when a card is gone by the MGET, read the page again in one call: the groups with cards, the total of the snapshot', async () => {
    await withModel({}, async (rm, gen) => {
      const ev = eventFactory();
      const groups = Array.from({ length: 9000 }, (_, i) => `gm${String(i).padStart(5, '0')}`);
      for (let i = 0; i < groups.length; i += 500) {
        const events = groups.slice(i, i + 500).map((g, j) =>
          ev('group.created', g, {
            group: { ownerUserID: 'u1', createTime: 1 },
            members: [{ userID: 'u1', roleLevel: 100, joinTime: BASE_TIME + i + j }],
          }),
        );
        await rm.apply(gen, 0, positioned(i, events));
      }
      // As if a half-failed apply had left this group without its card (its redelivery rebuilds it).
      await redis.del(rm.keys.entity('groupCard', gen, 'gm00001'));
      const spy = vi.spyOn(redis, 'callBuffer');
      try {
        const page = await rm.readPageCards('u1', 0, 9000);
        // The one-call read ran (more than 8000 cards: its MGETs are chunked inside Lua).
        expect(spy).toHaveBeenCalled(); // EVALSHA, and EVAL when the script was not loaded yet
        expect(page.total).toBe(9000);
        expect(page.generation).toBe(gen);
        const ids = page.cards.map((c) => (JSON.parse(c.toString()) as Card).groupID);
        expect(ids).toEqual(groups.filter((g) => g !== 'gm00001'));
      } finally {
        spy.mockRestore();
      }
      // Without a missing card, the two-step read alone answers.
      const spy2 = vi.spyOn(redis, 'callBuffer');
      try {
        expect((await rm.readPageCards('u1', 2, 3)).cards.map((c) => (JSON.parse(c.toString()) as Card).groupID)).toEqual([
          'gm00002',
          'gm00003',
          'gm00004',
        ]);
        expect(spy2).not.toHaveBeenCalled();
      } finally {
        spy2.mockRestore();
      }
    });
  });

  it('report no generation and total 0 before any generation is active', async () => {
    const rm = new ReadModel(redis, { root: uniqueId('rmt'), dedupeWindow: 10 });
    expect(await rm.readPage('u1', 0, 10)).toEqual({ total: 0, groupsJson: '', generation: null });
  });

  it('a page read issues the same Redis commands for a user with 10 groups and one with 100,000', async () => {
    await withModel({}, async (rm, gen, root) => {
      const small = uniqueId('small');
      const big = uniqueId('big');
      const ev = eventFactory();

      // The small user's 10 groups come from real events.
      await rm.apply(
        gen,
        0,
        positioned(
          0,
          Array.from({ length: 10 }, (_, i) =>
            ev('group.created', `s${i}`, {
              group: { ownerUserID: small, createTime: 1, groupName: `small ${i}` },
              members: [{ userID: small, roleLevel: 100, joinTime: BASE_TIME + i }],
            }),
          ),
        ),
      );

      // The big user's 100,000 are seeded straight into the keys the page script reads.
      const N = 100_000;
      const gid = (i: number) => `b${String(i).padStart(6, '0')}`;
      const card = (i: number) => {
        const values: Card = { groupID: gid(i), groupName: `big ${i}`, ownerUserID: big, memberCount: 1, groupType: 2 };
        return JSON.stringify(
          Object.fromEntries(GROUP_INFO_FIELDS.map((f) => [f, values[f] ?? (NUMERIC_GROUP_FIELDS.has(f) ? 0 : '')])),
        );
      };
      const joined = rm.keys.entity('userJoined', gen, big);
      for (let i = 0; i < N; i += 5000) {
        const zargs: (string | number)[] = [];
        const margs: string[] = [];
        for (let j = i; j < Math.min(N, i + 5000); j++) {
          zargs.push(BASE_TIME + j, gid(j));
          margs.push(rm.keys.entity('groupCard', gen, gid(j)), card(j));
        }
        await redis.pipeline().zadd(joined, ...zargs).mset(...margs).exec();
      }
      expect(await redis.zcard(joined)).toBe(N);

      const pageSize = 10;
      const pagesOf = (total: number) => {
        const pages = Math.ceil(total / pageSize);
        return { first: 0, middle: Math.floor(pages / 2) * pageSize, last: (pages - 1) * pageSize };
      };
      // Warm up: the script is loaded, so every read below is one EVALSHA.
      await rm.readPage(small, 0, pageSize);

      const monitor = await redis.monitor();
      const lines: { source: string; args: string[] }[] = [];
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (args.some((a) => a.includes(root) || a.includes(small) || a.includes(big))) lines.push({ source, args });
      });
      try {
        // MONITOR feeds commands in execution order; a marker command after
        // the read tells when the monitor has seen everything the read caused.
        let markers = 0;
        const commandsOf = async (userID: string, start: number) => {
          const id = markers++;
          const begin = `${root}:marker:${id}:begin`;
          const end = `${root}:marker:${id}:end`;
          await redis.get(begin);
          const page = await rm.readPage(userID, start, pageSize);
          await redis.get(end);
          await waitFor(() => lines.some((l) => l.args.includes(end)), { message: `monitor line for ${end}` });
          const from = lines.findIndex((l) => l.args.includes(begin));
          const to = lines.findIndex((l) => l.args.includes(end));
          expect(from).toBeGreaterThanOrEqual(0);
          const issued = lines.slice(from + 1, to);
          const fromClient = issued.filter((l) => l.source !== 'lua');
          const fromClientCommands = fromClient.map((l) => l.args[0]!.toLowerCase());
          const mgetKeys = fromClient.find((l) => l.args[0]!.toLowerCase() === 'mget')?.args.length ?? 1;
          const inLua = issued.filter((l) => l.source === 'lua').map((l) => l.args[0]!.toLowerCase());
          return { page, fromClientCommands, mgetKeys: mgetKeys - 1, inLua, count: issued.length };
        };

        const results: Record<string, Awaited<ReturnType<typeof commandsOf>>> = {};
        for (const [name, userID, total] of [
          ['small', small, 10],
          ['big', big, N],
        ] as const) {
          for (const [which, start] of Object.entries(pagesOf(total))) {
            results[`${name} ${which}`] = await commandsOf(userID, start);
          }
        }

        // The pages are real pages of size 10 ...
        expect((JSON.parse(`[${results['big middle']!.page.groupsJson}]`) as Card[]).map((g) => g.groupID)).toEqual(
          Array.from({ length: 10 }, (_, j) => gid(50_000 + j)),
        );
        expect((JSON.parse(`[${results['big last']!.page.groupsJson}]`) as Card[]).map((g) => g.groupID)).toEqual(
          Array.from({ length: 10 }, (_, j) => gid(N - 10 + j)),
        );
        expect(results['big first']!.page.total).toBe(N);
        expect((JSON.parse(`[${results['small first']!.page.groupsJson}]`) as Card[]).length).toBe(10);

        // ... and each cost one EVALSHA (the same three commands inside Lua) and one MGET of 10 cards.
        const expectedLua = ['get', 'zcard', 'zrange'];
        for (const [name, r] of Object.entries(results)) {
          expect(r.fromClientCommands, name).toEqual(['evalsha', 'mget']);
          expect(r.mgetKeys, name).toBe(10);
          expect(r.inLua, name).toEqual(expectedLua);
          expect(r.count, name).toBe(2 + expectedLua.length);
        }
      } finally {
        monitor.disconnect();
      }
    });
  });
});
