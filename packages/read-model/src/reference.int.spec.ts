import { decodeEvent, GROUP_INFO_FIELDS, type EventType, type GroupEvent } from '@imgroups/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OUTCOMES, V1_1_OUTCOMES, type Outcome } from './evolve.js';
import { ReferenceModel } from './reference-model.js';
import { BASE_TIME, readAll, withModel, type Card } from './read-model.test-helpers.js';
import type { RedisClient } from './redis-client.js';
import { testRedis } from './redis.test-helpers.js';

/**
 * The ReadModel (apply and page Lua scripts) against a real Redis, compared
 * with a plain in-memory model of the spec (ReferenceModel) after random
 * histories: pages, memberCount, outcomes and checkpoints. Every test works
 * under its own key root and removes it at the end; nothing flushes Redis.
 */

let redis: RedisClient;

beforeAll(() => {
  redis = testRedis(inject('testEnv'));
});

afterAll(async () => {
  await redis.quit();
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
          await withModel(redis, { chunkSize, dedupeWindow: 10_000 }, async (rm, gen) => {
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
    await withModel(redis, {}, async (rm, gen) => {
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
