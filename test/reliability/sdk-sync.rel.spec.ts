import type { RedisClient } from '@imgroups/read-model';
import { testRedis } from '@imgroups/read-model/test-redis';
import { redisVars } from '@imgroups/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { report, SEED } from '../support/reliability.js';
import { emptyStats, SdkLab, type LabStats } from '../support/sdk-lab.js';
import { historyArb, type Step } from '../support/sdk-history.js';

/**
 * Issue 12's SDK-flow property: a client written from the SDK's algorithm
 * (test/support/sdk-client.ts) syncs between random histories of events —
 * joins, leaves, renames and other info changes, role changes, transfers,
 * dismissals, redeliveries, logs overflowing a small SYNC_LOG_MAX, rebuilds —
 * through the query API built in-process. After every sync its copy (group
 * IDs, every GroupInfo field, each group's members whole) equals the
 * projection, and every `full` answer is one the rules demand
 * (test/support/sdk-rules.ts), and every answer they demand full is.
 */
const RUNS = Number(process.env.SDK_SYNC_RUNS ?? 200);
let redis: RedisClient;
const testEnv = inject('testEnv');
beforeAll(() => {
  redis = testRedis(testEnv);
});
afterAll(() => redis.disconnect());

/** Run one history; throws on the first sync whose copy or full answers are wrong (fast-check then shrinks it). */
async function runHistory(
  logMax: number,
  steps: Step[],
  stats: LabStats,
  delivery?: { batch: boolean; chunk: number },
): Promise<SdkLab> {
  const lab = await new SdkLab(redis, redisVars(testEnv), logMax, stats, delivery).open();
  try {
    for (const [i, step] of steps.entries()) {
      await lab.run(step);
      const wrong = [...lab.mismatches.map((m) => `mismatch: ${m}`), ...lab.unexpected.map((m) => `unexpected: ${m}`)];
      if (wrong.length) throw new Error(`SYNC_LOG_MAX ${logMax}, step ${i} (${JSON.stringify(step)}):\n${wrong.slice(0, 8).join('\n')}`);
    }
    // Every client ends synced and checked.
    for (let client = 0; client < lab.clients.length; client++) await lab.run({ kind: 'sync', client });
    const wrong = [...lab.mismatches, ...lab.unexpected];
    if (wrong.length) throw new Error(`SYNC_LOG_MAX ${logMax}, final syncs:\n${wrong.slice(0, 8).join('\n')}`);
    return lab;
  } finally {
    await lab.close();
  }
}

it(`sdk-sync: ${RUNS} random histories, a client from the SDK's algorithm equals the projection after every sync`, async () => {
  const stats = emptyStats();
  let histories = 0;
  await fc.assert(
    fc.asyncProperty(historyArb, async ({ logMax, steps, delivery }) => {
      histories++;
      await runHistory(logMax, steps, stats, delivery);
    }),
    { numRuns: RUNS, seed: SEED },
  );
  const full = stats.joinFull + stats.memberFull;
  report(`sdk-sync: ${histories} histories, ${stats.syncs} syncs, ${full} full (all expected), 0 mismatches`);
  report(
    `sdk-sync detail: ${stats.events} events (${stats.redeliveries} redeliveries), ${stats.rebuilds} rebuilds, ` +
      `${stats.joinFull} join-level and ${stats.memberFull} member-level full (${JSON.stringify(stats.reasons)}), ` +
      `${stats.incremental} incremental answers with changes, ${stats.bounded} batch answers cut by the bound`,
  );
  expect(histories).toBe(RUNS);
});

it('sdk-sync: a batch answer cut by the 500-change bound makes the client ask again for the groups left out', async () => {
  const stats = emptyStats();
  // Five groups of client 0's (the first user owns them), synced; then 150 members join each: 750 changes.
  const groups = [0, 1, 2, 3, 4];
  const steps: Step[] = [
    { kind: 'create', owner: 0, others: [1], count: groups.length },
    { kind: 'sync', client: 0 },
    ...groups.map((group): Step => ({ kind: 'bulk', group, size: 150 })),
    { kind: 'sync', client: 0 },
    { kind: 'sync', client: 1 },
  ];
  const lab = await runHistory(200, steps, stats);
  expect(stats.bounded).toBe(1);
  expect(lab.clients[0]!.members.size).toBe(5);
  // Only first syncs are full: clients 0 and 1 (join log, five groups), client 2 (no group).
  expect(stats.reasons).toEqual({ 'join: first sync': 3, 'member: first sync': 10 });
});

it('sdk-sync: a member who joined and then changed is still a new member to a client from before the join (found by the property)', async () => {
  // The member log held the member's latest change only ("changed"): the answer put the member in
  // `update` and gave no `group`, so the client kept the old memberCount.
  const steps: Step[] = [
    { kind: 'create', owner: 0, others: [], count: 1 },
    { kind: 'sync', client: 0 },
    { kind: 'join', group: 0, users: [1] },
    { kind: 'role', group: 0, user: 0, role: 60 },
    { kind: 'sync', client: 0 },
  ];
  const lab = await runHistory(10, steps, emptyStats());
  expect(lab.clients[0]!.groups.values().next().value).toMatchObject({ memberCount: 2 });
});
