import { decodeEvent, type GroupEvent } from '@imgroups/contracts';
import { uniqueId } from '@imgroups/testing';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { acquireRebuildLock, Generations, type LockHolder } from './generations.js';
import type { PositionedEvent } from './apply.js';
import { ReadModel } from './read-model.js';
import { SCRIPTS } from './scripts.js';
import type { RedisClient } from './redis-client.js';
import { keysMatching, testRedis, unlinkMatching } from './redis.test-helpers.js';

/**
 * Generation lifecycle against a real Redis: the switch's guard, deletion by
 * prefix, the sweep of retired generations, the rebuild lock. Every test uses
 * its own key root and removes it; nothing flushes Redis.
 */

let redis: RedisClient;
const roots: string[] = [];

beforeAll(() => {
  redis = testRedis(inject('testEnv'));
});

afterEach(async () => {
  for (const root of roots.splice(0)) await unlinkMatching(redis, `${root}:*`);
});

afterAll(async () => {
  await redis.quit();
});

function setup(opts: { chunkSize?: number; graceMs?: number } = {}) {
  const root = uniqueId('gen');
  roots.push(root);
  const gens = new Generations(redis, root, { graceMs: opts.graceMs });
  const model = new ReadModel(redis, { root, dedupeWindow: 100, ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}) });
  return { root, gens, model, keys: gens.keys };
}

/** One group on partition 0: created by u0, then u1..u(n-1) join; offsets 0..n-1. */
function groupHistory(groupID: string, n: number): PositionedEvent[] {
  const raw = [
    { type: 'group.created', data: { group: { ownerUserID: 'u0', createTime: 1000 }, members: [{ userID: 'u0', roleLevel: 100, joinTime: 1000 }] } },
    ...Array.from({ length: n - 1 }, (_, i) => ({
      type: 'member.joined',
      data: { members: [{ userID: `u${i + 1}`, roleLevel: 20, joinTime: 2000 + i }] },
    })),
  ];
  return raw.map((r, i) => {
    const decoded = decodeEvent(
      JSON.stringify({ eventID: `${groupID}-${i}`, version: 1, groupID, occurredAt: 1000 + i, operatorUserID: 'op', ...r }),
    );
    if (!decoded.ok) throw new Error(decoded.reason);
    return { offset: String(i), event: decoded.event as GroupEvent };
  });
}

const ckpt = (entries: Record<number, number>) => Object.fromEntries(Object.entries(entries).map(([p, o]) => [p, String(o)]));

describe('the generation switch', () => {
  async function rebuildingTo(gens: Generations, generation: number) {
    await gens.startRebuild({ generation, consumerGroup: 'g-rebuild', startedAt: 1 });
  }

  it('refuses while any partition of the new generation is behind the active one, and names it', async () => {
    const { gens, keys } = setup();
    await gens.ensureActive();
    await rebuildingTo(gens, 2);
    await redis.hset(keys.checkpoints(1), ckpt({ 0: 100, 1: 50, 2: 7 }));
    await redis.hset(keys.checkpoints(2), ckpt({ 0: 120, 1: 49, 2: 7 }));

    expect(await gens.flip({ from: 1, to: 2 })).toEqual({ ok: false, reason: 'behind', partition: 1, applied: 49, required: 50 });
    expect(await gens.active()).toBe(1);
    expect(await gens.retired()).toEqual([]);
    expect((await gens.rebuildRecord())?.status).toBe('running');
  });

  it('refuses when the new generation has not applied a partition the active one has', async () => {
    const { gens, keys } = setup();
    await gens.ensureActive();
    await rebuildingTo(gens, 2);
    await redis.hset(keys.checkpoints(1), ckpt({ 0: 3, 3: 0 }));
    await redis.hset(keys.checkpoints(2), ckpt({ 0: 3 }));

    expect(await gens.flip({ from: 1, to: 2 })).toMatchObject({ ok: false, reason: 'behind', partition: 3, applied: null, required: 0 });
    expect(await gens.active()).toBe(1);
  });

  it('switches, retires the old generation and marks the rebuild switched in one call once every partition has caught up', async () => {
    const { gens, keys } = setup();
    await gens.ensureActive();
    await rebuildingTo(gens, 2);
    await redis.hset(keys.checkpoints(1), ckpt({ 0: 100, 1: 50 }));
    await redis.hset(keys.checkpoints(2), ckpt({ 0: 100, 1: 60, 2: 5 }));

    expect(await gens.flip({ from: 1, to: 2, now: 1234 })).toEqual({ ok: true, previous: 1 });
    expect(await gens.active()).toBe(2);
    expect(await gens.retired()).toEqual(['1']);
    expect(await redis.hget(keys.retiredAt, '1')).toBe('1234'); // its grace period runs from the switch
    expect(await gens.rebuildRecord()).toMatchObject({ generation: 2, status: 'switched', previous: 1, switchedAt: 1234 });
    // Once switched, it cannot switch again.
    expect(await gens.flip({ from: 1, to: 2 })).toMatchObject({ ok: false, reason: 'active_changed', active: '2' });
  });

  it('refuses when the lock is not the caller\'s or the rebuild record names another generation', async () => {
    const { gens, keys, root } = setup();
    await gens.ensureActive();
    await rebuildingTo(gens, 3);
    expect(await gens.flip({ from: 1, to: 2 })).toMatchObject({ ok: false, reason: 'not_rebuilding', generation: '3', status: 'running' });
    const held = await acquireRebuildLock(redis, root, { token: 't1', host: 'h', pid: 1, startedAt: 1 });
    expect(held.ok).toBe(true);
    expect(await gens.flip({ from: 1, to: 3, lockValue: 'someone else' })).toEqual({ ok: false, reason: 'lock_lost' });
    if (held.ok) {
      expect(await gens.flip({ from: 1, to: 3, lockValue: held.lock.value })).toEqual({ ok: true, previous: 1 });
      await held.lock.release();
    }
    expect(await redis.exists(keys.rebuildLock)).toBe(0);
  });

  it('a live apply that straddles a switch is refused until the new generation holds the chunks already applied', async () => {
    // The live projector applies with generation null, chunk by chunk. Chunk 1
    // lands in generation 1; before chunk 2 a rebuild that has replayed less
    // than chunk 1 tries to switch: it must be refused, or chunk 2 would land
    // in generation 2 on top of a hole.
    const { gens, model, keys } = setup({ chunkSize: 4 });
    const events = groupHistory('gS', 8);
    await gens.ensureActive();
    await rebuildingTo(gens, 2);
    await model.apply(2, 0, events.slice(0, 2), '1');

    // Chunk 2's first call, chunk 1 checkpointed: the rebuild tries to switch.
    const { live, flips } = liveFlippingAt(gens, SCRIPTS.apply.sha);
    await live.apply(null, 0, events, '7');

    expect(flips).toEqual([{ ok: false, reason: 'behind', partition: 0, applied: 1, required: 3 }]);
    expect(await redis.hgetall(keys.checkpoints(1))).toEqual({ 0: '7' });
    expect(await redis.zcard(keys.entity('groupMembers', 1, 'gS'))).toBe(8);

    // Once the rebuild has replayed as far, the switch goes through and nothing is lost.
    await model.apply(2, 0, events, '7');
    expect(await gens.flip({ from: 1, to: 2 })).toEqual({ ok: true, previous: 1 });
    expect(await redis.zcard(keys.entity('groupMembers', 2, 'gS'))).toBe(8);
  });

  it('a live chunk whose checkpoint finds the switch done is applied to the new generation too', async () => {
    // The rebuild has replayed chunk 1 and switches while the live projector's
    // chunk 2 is between its writes (to generation 1) and its checkpoint: the
    // checkpoint call sees generation 2 active and the chunk goes there too.
    const { gens, model, keys } = setup({ chunkSize: 4 });
    const events = groupHistory('gM', 8);
    await gens.ensureActive();
    await rebuildingTo(gens, 2);
    await model.apply(2, 0, events.slice(0, 4), '3');
    const { live, flips } = liveFlippingAt(gens, SCRIPTS.checkpoint.sha);
    await live.apply(null, 0, events, '7');

    expect(flips).toEqual([{ ok: true, previous: 1 }]);
    expect(await redis.get(keys.active)).toBe('2');
    expect(await redis.hgetall(keys.checkpoints(2))).toEqual({ 0: '7' });
    expect(await redis.zcard(keys.entity('groupMembers', 2, 'gM'))).toBe(8);
    // The old generation got chunk 2's writes but never its checkpoint.
    expect(await redis.hgetall(keys.checkpoints(1))).toEqual({ 0: '3' });
  });

  it('records each chunk\'s checkpoint as it lands, so a generation\'s checkpoint covers exactly what it holds', async () => {
    const { gens, keys } = setup();
    await gens.ensureActive();
    const seen: Record<string, string>[] = [];
    const spied = spyScripts(redis, async (sha, run) => {
      const reply = await run();
      if (sha === SCRIPTS.checkpoint.sha) seen.push(await redis.hgetall(keys.checkpoints(1)));
      return reply;
    });
    const live = new ReadModel(spied, { root: keys.root, dedupeWindow: 100, chunkSize: 3 });
    await live.apply(null, 0, groupHistory('gC', 7), '9');
    expect(seen).toEqual([{ 0: '2' }, { 0: '5' }, { 0: '9' }]);
  });
});

describe('deleting a generation', () => {
  it('removes every key of that generation only, in batches, leaving generation 10, the active one and the rebuild keys', async () => {
    const { gens, keys, model } = setup();
    await redis.set(keys.active, '2');
    for (const gen of [1, 2, 10]) await model.apply(gen, 0, groupHistory('gD', 30), '29');
    await gens.startRebuild({ generation: 2, consumerGroup: 'x', startedAt: 1 });
    const before = async (gen: number) => (await keysMatching(redis, `${keys.root}:${gen}:*`)).length;
    const ten = await before(10);
    expect(await before(1)).toBeGreaterThan(60);

    const batches: number[] = [];
    const r = await gens.deleteGeneration(1, { count: 10, pauseMs: 0, onProgress: (p) => batches.push(p.deleted) });
    expect(r.complete).toBe(true);
    expect(r.deleted).toBe(ten);
    expect(batches.length).toBeGreaterThan(3);
    expect(await before(1)).toBe(0);
    expect(await before(10)).toBe(ten);
    expect(await before(2)).toBe(ten);
    expect(await redis.exists(keys.active, keys.rebuild)).toBe(2);
  });

  it('refuses to delete the active generation', async () => {
    const { gens } = setup();
    await gens.ensureActive();
    await expect(gens.deleteGeneration(1)).rejects.toThrow(/active/);
  });

  it('a sweep finishes retired generations and expired verify scratch ones, never the one being rebuilt', async () => {
    const { gens, keys, model } = setup({ graceMs: 0 });
    await redis.set(keys.active, '3');
    for (const gen of [1, 2, 3, 4, 'verify-dead', 'verify-live']) await model.apply(gen, 0, groupHistory('gW', 3), '2');
    await gens.startRebuild({ generation: 4, consumerGroup: 'x', startedAt: 1 });
    await gens.retire(1);
    await gens.retire(2);
    await gens.retire(4); // a bug elsewhere must not cost the running rebuild its data
    await redis.zadd(keys.scratch, Date.now() - 1, 'verify-dead');
    await gens.leaseScratch('verify-live', 60_000);

    const done = await gens.sweepRetired({ pauseMs: 0 });
    expect(done.map((d) => d.generation).sort()).toEqual(['1', '2', 'verify-dead']);
    const left = new Set((await keysMatching(redis, `${keys.root}:*:ckpt`)).map((k) => k.split(':')[1]));
    expect([...left].sort()).toEqual(['3', '4', 'verify-live']);
    expect(await gens.retired()).toEqual(['4']);
    expect(await gens.scratchGenerations()).toEqual(['verify-live']);
  });

  it('never hands out a generation number again, even one still being deleted', async () => {
    const { gens, keys } = setup();
    expect(await gens.nextGeneration()).toBe(1);
    await gens.ensureActive();
    expect(await gens.nextGeneration()).toBe(2);
    await gens.retire(7);
    expect(await gens.nextGeneration()).toBe(8);
    await gens.startRebuild({ generation: 9, consumerGroup: 'x', startedAt: 1 });
    expect(await gens.nextGeneration()).toBe(10);
    await redis.srem(keys.retired, '7');
    expect(await gens.nextGeneration()).toBe(10);
  });
});

describe('the rebuild lock', () => {
  const holder = (token: string, host = 'host-a', pid = 4242): LockHolder => ({ token, host, pid, startedAt: 1_700_000_000_000 });

  it('refuses a second holder and says who holds it and for how long', async () => {
    const { root } = setup();
    const first = await acquireRebuildLock(redis, root, holder('one'), { ttlMs: 30_000 });
    expect(first.ok).toBe(true);
    const second = await acquireRebuildLock(redis, root, holder('two', 'host-b', 7), { ttlMs: 30_000 });
    expect(second).toMatchObject({ ok: false, holder: { token: 'one', host: 'host-a', pid: 4242 } });
    if (!second.ok) expect(second.expiresInMs).toBeGreaterThan(25_000);
    if (first.ok) await first.lock.release();
    expect((await acquireRebuildLock(redis, root, holder('three'))).ok).toBe(true);
  });

  it('only its holder refreshes or releases it; a lock taken over is reported lost', async () => {
    const { root, keys } = setup();
    const a = await acquireRebuildLock(redis, root, holder('a'), { ttlMs: 600, refreshMs: 100 });
    if (!a.ok) throw new Error('not acquired');
    // Refreshed while held: still there well past the TTL.
    await new Promise((r) => setTimeout(r, 1000));
    expect(JSON.parse((await redis.get(keys.rebuildLock))!)).toMatchObject({ token: 'a' });
    // Someone else's value: a's refresh notices, a's release leaves it alone.
    await redis.set(keys.rebuildLock, JSON.stringify(holder('b')), 'PX', 5000);
    expect(await a.lock.lost).toMatch(/taken over/);
    await a.lock.release();
    expect(JSON.parse((await redis.get(keys.rebuildLock))!)).toMatchObject({ token: 'b' });
  });

  it('takes over at once a lock whose holder is declared stale, otherwise waits for it to expire', async () => {
    const { root } = setup();
    await acquireRebuildLock(redis, root, holder('dead', 'host-a', 999_999), { ttlMs: 30_000 }).then((r) => r.ok && r.lock.release().then(() => undefined));
    const dead = await acquireRebuildLock(redis, root, holder('dead', 'host-a', 999_999), { ttlMs: 30_000 });
    expect(dead.ok).toBe(true);
    const refused = await acquireRebuildLock(redis, root, holder('next'), { isStale: () => false });
    expect(refused.ok).toBe(false);
    const taken = await acquireRebuildLock(redis, root, holder('next'), { isStale: (h) => h.pid === 999_999 });
    expect(taken.ok).toBe(true);
    if (taken.ok) await taken.lock.release();
  });
});

/** `redis` with every EVALSHA going through `spy` (its script's SHA, and the call to make). */
function spyScripts(redis: RedisClient, spy: (sha: string, run: () => Promise<unknown>) => Promise<unknown>): RedisClient {
  return new Proxy(redis, {
    get(target, prop, receiver) {
      if (prop !== 'evalsha') return Reflect.get(target, prop, receiver) as unknown;
      return (sha: string, numKeys: number, ...rest: (string | number)[]) => spy(sha, () => target.evalsha(sha, numKeys, ...rest));
    },
  });
}

/**
 * The live projector's read model (generation null, chunks of 4 events),
 * trying the switch from generation 1 to 2 at its first call of the script
 * `sha` once chunk 1 (offsets 0-3) is checkpointed.
 */
function liveFlippingAt(gens: Generations, sha: string): { live: ReadModel; flips: unknown[] } {
  const flips: unknown[] = [];
  const spied = spyScripts(redis, async (called, run) => {
    if (called === sha && flips.length === 0 && (await redis.hget(gens.keys.checkpoints(1), '0')) === '3') {
      flips.push(await gens.flip({ from: 1, to: 2 }));
    }
    return run();
  });
  return { live: new ReadModel(spied, { root: gens.keys.root, dedupeWindow: 100, chunkSize: 4 }), flips };
}
