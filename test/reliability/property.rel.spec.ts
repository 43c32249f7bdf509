import { decodeEvent, type GroupEvent } from '@imgroups/contracts';
import { ReadModel, V1_1_OUTCOMES, type PositionedEvent, type RedisClient } from '@imgroups/read-model';
import { crashingApplier, diffProjection, ReferenceModel } from '@imgroups/read-model/test-helpers';
import { testRedis, unlinkMatching } from '@imgroups/read-model/test-redis';
import { generateHistory, generateVersionedHistory, uniqueId } from '@imgroups/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { report, SEED } from '../support/reliability.js';

/**
 * Half the histories are of event stream v1; the other half of v1.1, shaped
 * like the OpenIM bridge's output (testing's generateVersionedHistory): every
 * change with the group's version as `seq`, several events sharing one,
 * skipped versions, a group's events out of order, re-sends of any age
 * (beyond a small dedupe window, so only `seq` can catch them), snapshots
 * racing live events, in parts, and a small tombstone bound.
 *
 * Property: whatever the delivery does — duplicates, batches redelivered from
 * an older committed offset, a crash between any two Redis writes of an apply
 * call (fault injection: the script fails after N writes and keeps them, as an
 * out-of-memory error would) — once every message has been delivered, the
 * read model equals a plain in-memory model fed each message once, in order.
 */
const WINDOW = 128;
/** v1.1 runs: a window small enough that re-sends outlive it, and few tombstones, so the floor is reached. */
const V1_1_WINDOW = 4;
const V1_1_TOMBSTONES = 3;
const PARTITIONS = 3;
const RUNS = Number(process.env.RELIABILITY_PROPERTY_RUNS ?? 1000);
let redis: RedisClient;
beforeAll(() => {
  redis = testRedis(inject('testEnv'));
});
afterAll(() => redis.disconnect());

const dropRoot = (root: string) => unlinkMatching(redis, `${root}:*`);

/** A version log as ID -> state (1 joined, 2 left, 3 changed), and its version. */
async function logOf(rm: ReadModel, kind: 'userJoinLog' | 'groupMemberLog', id: string) {
  const rows = await redis.zrange(rm.keys.entity(kind, 1, id), 0, -1, 'WITHSCORES');
  const states: Record<string, number> = {};
  let version = 0;
  for (let i = 0; i < rows.length; i += 2) {
    const score = Number(rows[i + 1]);
    states[rows[i]!] = score % 4;
    version = Math.max(version, Math.floor(score / 4));
  }
  return { states, version };
}

const partitionOf = (groupID: string) => [...groupID].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % PARTITIONS;

it(`property: ${RUNS} random histories with duplicates, redeliveries and crashes between writes equal the model`, async () => {
  let events = 0;
  let crashes = 0;
  let redeliveries = 0;
  let versionedRuns = 0;
  const v11Outcomes = new Map<string, number>();
  const schedule = fc.record({
    versioned: fc.boolean(),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    length: fc.integer({ min: 5, max: 80 }),
    groups: fc.integer({ min: 1, max: 20 }),
    users: fc.integer({ min: 2, max: 30 }),
    // Delivery script: per step, how many messages a batch takes, the chunk
    // size of the apply calls, whether the call crashes after k writes, and
    // how far back the next delivery restarts (the last commit).
    steps: fc.array(
      fc.record({
        take: fc.integer({ min: 1, max: 12 }),
        chunk: fc.integer({ min: 1, max: 5 }),
        crashAfter: fc.option(fc.integer({ min: 0, max: 40 }), { freq: 3 }),
        rewind: fc.option(fc.integer({ min: 1, max: 10 }), { freq: 4 }),
      }),
      { minLength: 1, maxLength: 40 },
    ),
  });

  await fc.assert(
    fc.asyncProperty(schedule, async ({ versioned, seed, length, groups, users, steps }) => {
      const root = uniqueId('prop');
      const cleanRoot = uniqueId('propclean');
      const raw = versioned
        ? generateVersionedHistory({ seed, events: length, groups, users, prefix: 'p' })
        : generateHistory({ seed, events: length, groups, users, resendRate: 0.1, oddRate: 0.05, dismissRate: 0.03, prefix: 'p' });
      if (versioned) versionedRuns++;
      const window = versioned ? V1_1_WINDOW : WINDOW;
      const seqTombstones = versioned ? V1_1_TOMBSTONES : undefined;
      // Split into partitions by key, offsets from 0 in each, as Kafka would.
      const parts: PositionedEvent[][] = Array.from({ length: PARTITIONS }, () => []);
      const model = new ReferenceModel(window, seqTombstones);
      for (const r of raw) {
        const decoded = decodeEvent(JSON.stringify(r));
        if (!decoded.ok) throw new Error(decoded.reason);
        const p = parts[partitionOf(r.groupID)]!;
        p.push({ offset: String(p.length), event: decoded.event as GroupEvent });
      }
      for (const p of parts) {
        for (const { offset, event } of p) {
          const outcome = model.deliver(Number(offset), event);
          if (V1_1_OUTCOMES.includes(outcome)) v11Outcomes.set(outcome, (v11Outcomes.get(outcome) ?? 0) + 1);
        }
      }

      const rm = new ReadModel(redis, { root, dedupeWindow: window, seqTombstones });
      await rm.generations.ensureActive();
      const committed = parts.map(() => 0);
      const position = parts.map(() => 0);
      let s = 0;
      try {
        for (const step of steps) {
          const pi = s++ % PARTITIONS;
          const part = parts[pi]!;
          if (step.rewind !== null) {
            // A crash or rebalance: delivery resumes from the last commit.
            position[pi] = Math.max(0, committed[pi]! - (step.rewind % 3));
            redeliveries++;
          }
          const batch = part.slice(position[pi], position[pi]! + step.take);
          if (batch.length === 0) continue;
          const chunked = new ReadModel(redis, { root, dedupeWindow: window, seqTombstones, chunkSize: step.chunk });
          try {
            const applier = step.crashAfter === null ? chunked.applier : crashingApplier(chunked, step.crashAfter);
            await applier.apply(null, pi, batch, batch[batch.length - 1]!.offset);
            position[pi]! += batch.length;
            committed[pi] = position[pi]!;
          } catch (err) {
            if (!String(err).includes('INJECTED')) throw err;
            crashes++;
            position[pi] = committed[pi]!; // nothing of the batch was committed
          }
        }
        // Finally everything is delivered, cleanly, from the last commits.
        for (let pi = 0; pi < PARTITIONS; pi++) {
          const rest = parts[pi]!.slice(committed[pi]);
          if (rest.length) await rm.apply(null, pi, rest, rest[rest.length - 1]!.offset);
        }
        events += raw.length;
        const userIDs = Array.from({ length: users }, (_, i) => `pu${i}`);
        const diff = await diffProjection(rm, model, userIDs);
        expect(diff.examples, `seed ${seed}`).toEqual([]);
        // Every group's card too, dismissed ones absent.
        for (const gid of Array.from({ length: groups }, (_, i) => `pg${i}`)) {
          const card = await redis.get(rm.keys.entity('groupCard', 1, gid));
          expect(card === null ? null : JSON.parse(card)).toEqual(model.card(gid));
          // And its members' details (role changes, transfers), in list order.
          const g = model.groups.get(gid);
          const page = await rm.readMemberPage(gid, { userID: 'admin', isAdmin: true }, 0, 1000);
          expect(page.outcome, gid).toBe(!g ? 'not_found' : g.dismissed ? 'dismissed' : 'ok');
          if (g && !g.dismissed) {
            const got = (JSON.parse(`[${page.membersJson}]`) as { userID: string; roleLevel: number; joinTime: number }[]).map(
              (m) => [m.userID, m.roleLevel, m.joinTime],
            );
            const want = [...g.members]
              .sort(([ua, a], [ub, b]) => a.joinTime - b.joinTime || Buffer.compare(Buffer.from(ua), Buffer.from(ub)))
              .map(([u, m]) => [u, m.role, m.joinTime]);
            expect(got, gid).toEqual(want);
          }
        }
        // The version logs (the SDK's sync) say what a clean application's say: each ID's latest
        // state, whatever crashed and was redelivered; a version may only be ahead (a change
        // re-applied after a crash between its entry and itself is stamped again).
        const cleanRm = new ReadModel(redis, { root: cleanRoot, dedupeWindow: window, seqTombstones });
        await cleanRm.generations.ensureActive();
        for (let pi = 0; pi < PARTITIONS; pi++) if (parts[pi]!.length) await cleanRm.apply(null, pi, parts[pi]!);
        const logs = [
          ...Array.from({ length: users }, (_, i) => ['userJoinLog', `pu${i}`] as const),
          ...Array.from({ length: groups }, (_, i) => ['groupMemberLog', `pg${i}`] as const),
        ];
        for (const [kind, id] of logs) {
          const [got, want] = await Promise.all([logOf(rm, kind, id), logOf(cleanRm, kind, id)]);
          expect(got.states, `${kind} ${id}`).toEqual(want.states);
          expect(got.version, `${kind} ${id}`).toBeGreaterThanOrEqual(want.version);
        }
      } finally {
        await dropRoot(root);
        await dropRoot(cleanRoot);
      }
    }),
    { numRuns: RUNS, ...(process.env.CI ? { seed: SEED } : {}) },
  );
  // The v1.1 histories reached what only they can: stale seqs and snapshot parts.
  expect(versionedRuns).toBeGreaterThan(0);
  expect(v11Outcomes.get('stale_seq') ?? 0).toBeGreaterThan(0);
  expect(v11Outcomes.get('snapshot_part_held') ?? 0).toBeGreaterThan(0);
  const v11 = [...v11Outcomes].map(([o, n]) => `${n} ${o}`).join(', ');
  report(
    `property: ${RUNS} histories (<=20 groups, <=30 users; ${versionedRuns} of them v1.1: seq out of order, shared seqs, re-sends of any age, snapshots racing live events, ${v11}), ` +
      `${events} events, ${crashes} injected crashes, ${redeliveries} redeliveries, 0 mismatches (seed ${process.env.CI ? SEED : 'random, printed on failure'})`,
  );
});
