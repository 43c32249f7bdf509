import { decodeEvent } from '@imgroups/contracts';
import { generateHistory, generateVersionedHistory, uniqueId, type RawGroupEvent } from '@imgroups/testing';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { PositionedEvent } from './apply.js';
import { acquireRebuildLock } from './generations.js';
import { ReadModel } from './read-model.js';
import type { RedisClient } from './redis-client.js';
import { testRedis, unlinkMatching } from './redis.test-helpers.js';
import { SCRIPTS, setScriptCallObserver } from './scripts.js';
import { slotProblems, uncalledScripts, type ScriptCall } from './slots.test-helpers.js';

/**
 * Every script call the read model makes keeps to one Redis Cluster hash
 * slot: a realistic workload runs through the public API (v1 and v1.1
 * histories applied over two partitions in chunks, every read, a rebuild's
 * generation switch, the rebuild lock) while every call's KEYS are recorded
 * (scripts.ts setScriptCallObserver). Each production script must have run,
 * and each call must name at least one key, all in one slot. The slots are
 * computed here, so the test says the same on one Redis (TEST_REDIS=single)
 * as on a Cluster, where a call that broke the rule would fail with CROSSSLOT.
 */

const PARTITIONS = 2;
let redis: RedisClient;
beforeAll(() => {
  redis = testRedis(inject('testEnv'));
});
afterAll(() => redis.quit());

/** The history's events by partition, at consecutive offsets: what a consumer's batches hold. */
function partitioned(history: RawGroupEvent[]): PositionedEvent[][] {
  const parts: PositionedEvent[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const raw of history) {
    const decoded = decodeEvent(JSON.stringify(raw));
    if (!decoded.ok) throw new Error(`history produced an invalid event: ${decoded.reason}`);
    const part = parts[[...raw.groupID].reduce((h, c) => h + c.charCodeAt(0), 0) % PARTITIONS]!;
    part.push({ offset: String(part.length), event: decoded.event });
  }
  return parts;
}

/** Apply every partition's events to `gen` in batches of 50, each with its checkpoint, as the projector does. */
async function deliver(rm: ReadModel, gen: number, parts: PositionedEvent[][]) {
  for (const [partition, events] of parts.entries()) {
    for (let i = 0; i < events.length; i += 50) {
      const batch = events.slice(i, i + 50);
      await rm.apply(gen, partition, batch, batch.at(-1)!.offset);
    }
  }
}

/** Every read the API serves, for each user and group of the histories. */
async function readEverything(rm: ReadModel, users: string[], groups: string[]) {
  const admin = { userID: '', isAdmin: true };
  for (const u of users) {
    await rm.readPage(u, 0, 10);
    await rm.readPageCards(u, 5, 5);
    await rm.readJoinedGroupIDs(u);
    const first = await rm.sync.readJoinSync(u, { versionID: '', version: 0 });
    await rm.sync.readJoinSync(u, { versionID: first.versionID, version: Math.max(0, first.version - 3) });
  }
  for (let i = 0; i < groups.length; i += 4) await rm.readGroupsInfo(groups.slice(i, i + 4));
  for (const g of groups) {
    const page = await rm.readMemberPage(g, admin, 0, 10);
    await rm.readMemberPage(g, { userID: users[0]!, isAdmin: false }, 0, 5);
    if (page.outcome !== 'ok') continue;
    const first = await rm.sync.readMemberSync(g, admin, { versionID: '', version: 0 });
    await rm.sync.readMemberSync(g, admin, { versionID: first.versionID, version: Math.max(0, first.version - 3) });
    await rm.sync.readMemberIDs(g, admin);
  }
}

async function workload(root: string) {
  const rm = new ReadModel(redis, { root, dedupeWindow: 32, chunkSize: 8, seqTombstones: 5, syncLogMax: 10 });
  const v1 = generateHistory({ seed: 101, events: 400, groups: 10, users: 30, prefix: `${root}-a` });
  const v11 = generateVersionedHistory({ seed: 102, events: 400, groups: 10, users: 30, prefix: `${root}-b`, partSize: 2 });
  const parts = partitioned([...v1, ...v11]);
  const users = ['a', 'b'].flatMap((p) => Array.from({ length: 30 }, (_, i) => `${root}-${p}u${i}`));
  const groups = ['a', 'b'].flatMap((p) => [...Array.from({ length: 10 }, (_, i) => `${root}-${p}g${i}`), `${root}-${p}never`]);

  const gen = await rm.generations.ensureActive();
  await deliver(rm, gen, parts);
  await deliver(rm, gen, [parts[0]!.slice(-20)]); // a redelivery: duplicates
  await readEverything(rm, users, groups);

  // A rebuild: the lock (taken, taken over from a holder declared dead, released), the replay, the switch.
  const me = { token: uniqueId('t'), host: 'slots', pid: 1, startedAt: Date.now() };
  const first = await acquireRebuildLock(redis, root, me, { ttlMs: 60_000, refreshMs: 60_000 });
  const second = await acquireRebuildLock(redis, root, { ...me, token: uniqueId('t') }, { ttlMs: 60_000, refreshMs: 60_000, isStale: () => true });
  if (!first.ok || !second.ok) throw new Error('the rebuild lock was not taken');
  await first.lock.release();
  const next = await rm.generations.nextGeneration();
  await rm.generations.startRebuild({ generation: next, consumerGroup: `${root}-rebuild`, startedAt: Date.now() });
  await deliver(rm, next, parts);
  expect(await rm.generations.flip({ from: gen, to: next, lockValue: second.lock.value })).toEqual({ ok: true, previous: gen });
  await second.lock.release();
  await readEverything(rm, users.slice(0, 5), groups.slice(0, 5));
}

it('every script call of a realistic workload names its keys, all in one hash slot, and every production script runs', async () => {
  const root = uniqueId('slots');
  const calls: ScriptCall[] = [];
  setScriptCallObserver((script, keys) => calls.push({ script, keys: [...keys] }));
  let failure: unknown;
  try {
    await workload(root);
  } catch (err) {
    failure = err;
  } finally {
    setScriptCallObserver(undefined);
    await unlinkMatching(redis, `${root}:*`);
  }
  // One assertion for the three, so a failure shows them all: on a Cluster a call across slots
  // is also what makes the workload fail (CROSSSLOT).
  const problems = slotProblems(calls);
  const counted = [...new Set(problems)].map((p) => `${p} (${problems.filter((q) => q === p).length} of ${calls.length} calls)`);
  expect({
    slotProblems: counted.slice(0, 20),
    workloadError: failure === undefined ? null : failure instanceof Error ? (failure.stack ?? failure.message) : JSON.stringify(failure),
    uncalledScripts: uncalledScripts(calls, Object.values(SCRIPTS).map((s) => s.name)),
  }).toEqual({ slotProblems: [], workloadError: null, uncalledScripts: [] });
  expect(calls.length).toBeGreaterThan(0);
}, 120_000);
