import { uniqueId } from '@imgroups/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ActiveGeneration, versionIDOf } from './active-generation.js';
import { Generations } from './generations.js';
import { keyspace } from './keys.js';

/**
 * The active generation as readers resolve it (one MGET, cached briefly),
 * and the grace period a retired generation stays whole for, against a real
 * Redis. Data is seeded with plain commands; every test uses its own key
 * root and removes it.
 */

let redis: Redis;
const roots: string[] = [];

beforeAll(() => {
  redis = new Redis(inject('testEnv').redisUrl);
});
afterEach(async () => {
  for (const root of roots.splice(0)) {
    for await (const keys of redis.scanStream({ match: `${root}:*`, count: 1000 })) {
      if ((keys as string[]).length) await redis.unlink(...(keys as string[]));
    }
  }
});
afterAll(async () => {
  await redis.quit();
});

function newRoot() {
  const root = uniqueId('ag');
  roots.push(root);
  return { root, keys: keyspace(root) };
}

const EPOCH = '0123456789abcdef';

describe('the active generation as readers resolve it', () => {
  it('is read with its epoch, kept for its TTL, and read again at once when asked fresh', async () => {
    const { keys } = newRoot();
    let now = 1_000;
    const active = new ActiveGeneration(redis, keys, { ttlMs: 250, now: () => now });
    expect(await active.get()).toEqual({ generation: null, epoch: null, versionID: '' });
    await redis.mset(keys.active, '7', keys.epoch, EPOCH);
    now += 249;
    expect((await active.get()).generation).toBeNull(); // still the cached answer
    now += 1;
    expect(await active.get()).toEqual({ generation: 7, epoch: EPOCH, versionID: `${EPOCH}00000007` });

    await redis.set(keys.active, '8');
    expect((await active.get()).generation).toBe(7);
    expect((await active.get({ fresh: true })).generation).toBe(8);
    expect((await active.get()).generation).toBe(8); // the fresh answer is the cached one now
  });

  it('shares one read among the calls made while it is in flight; with TTL 0 every call reads', async () => {
    const { keys } = newRoot();
    await redis.mset(keys.active, '3', keys.epoch, EPOCH);
    const mget = vi.spyOn(redis, 'mget');
    try {
      const cached = new ActiveGeneration(redis, keys);
      const answers = await Promise.all([cached.get(), cached.get(), cached.get()]);
      expect(answers.map((a) => a.generation)).toEqual([3, 3, 3]);
      expect(mget).toHaveBeenCalledTimes(1);

      mget.mockClear();
      const uncached = new ActiveGeneration(redis, keys, { ttlMs: 0 });
      await uncached.get();
      await uncached.get();
      expect(mget).toHaveBeenCalledTimes(2);
    } finally {
      mget.mockRestore();
    }
  });

  it('makes the versionID of the epoch and 8 hex digits of the generation, none without either', () => {
    expect(versionIDOf(26, EPOCH)).toBe(`${EPOCH}0000001a`);
    expect(versionIDOf(26, null)).toBe('');
    expect(versionIDOf(null, EPOCH)).toBe('');
  });

  it('follows a switch made by this process at once', async () => {
    const { root, keys } = newRoot();
    const gens = new Generations(redis, root, { activeTtlMs: 60_000 });
    await gens.ensureActive();
    expect((await gens.current()).generation).toBe(1);
    await gens.startRebuild({ generation: 2, consumerGroup: 'g', startedAt: 1 });
    await redis.hset(keys.checkpoints(1), { 0: '5' });
    await redis.hset(keys.checkpoints(2), { 0: '5' });
    expect(await gens.flip({ from: 1, to: 2 })).toEqual({ ok: true, previous: 1 });
    expect((await gens.current()).generation).toBe(2);
  });
});

describe("a retired generation's grace period", () => {
  /** `n` keys of generation `gen` in as many groups, and its checkpoint. */
  async function seed(keys: ReturnType<typeof keyspace>, gen: number, n: number) {
    const pairs = Array.from({ length: n }, (_, i) => [keys.entity('groupCard', gen, `g${i}`), '{}']).flat();
    await redis.mset(...pairs);
    await redis.hset(keys.checkpoints(gen), { 0: '9' });
  }
  const countOf = async (root: string, gen: number) => (await redis.keys(`${root}:${gen}:*`)).length;

  it('a sweep leaves a generation in its grace period whole and listed; deleting it waits the grace out', async () => {
    const { root, keys } = newRoot();
    const gens = new Generations(redis, root, { graceMs: 60_000 });
    await redis.set(keys.active, '2');
    await seed(keys, 1, 10);
    await gens.retire(1);

    expect(await gens.sweepRetired({ pauseMs: 0 })).toEqual([]);
    expect(await countOf(root, 1)).toBe(11);
    expect(await gens.retired()).toEqual(['1']);
    // Asked to delete it anyway: it waits, and stops when told to.
    expect(await gens.deleteGeneration(1, { shouldStop: () => true })).toEqual({ deleted: 0, complete: false });
    expect(await countOf(root, 1)).toBe(11);

    // Retired a minute ago: deleted, its checkpoint too, and forgotten.
    await gens.retire(1, Date.now() - 60_000);
    expect(await gens.sweepRetired({ pauseMs: 0 })).toEqual([{ generation: '1', deleted: 11 }]);
    expect(await countOf(root, 1)).toBe(0);
    expect(await redis.exists(keys.checkpoints(1))).toBe(0);
    expect(await gens.retired()).toEqual([]);
    expect(await redis.hget(keys.retiredAt, '1')).toBeNull();
  });

  it('after a switch, a sweep told to wait deletes the old generation once the grace period is over, not before', async () => {
    const { root, keys } = newRoot();
    const graceMs = 300;
    const gens = new Generations(redis, root, { graceMs });
    await gens.ensureActive();
    await seed(keys, 1, 5);
    await gens.startRebuild({ generation: 2, consumerGroup: 'g', startedAt: 1 });
    await redis.hset(keys.checkpoints(2), { 0: '9' });
    const switchedAt = Date.now();
    expect(await gens.flip({ from: 1, to: 2, now: switchedAt })).toEqual({ ok: true, previous: 1 });

    const done = await gens.sweepRetired({ waitForGrace: true, pauseMs: 0 });
    expect(Date.now()).toBeGreaterThanOrEqual(switchedAt + graceMs);
    expect(done).toEqual([{ generation: '1', deleted: 6 }]);
    expect(await countOf(root, 1)).toBe(0);
    expect(await countOf(root, 2)).toBe(1); // the new generation's checkpoint, untouched
  });

  it('a generation never retired (a scratch one) is deleted at once', async () => {
    const { root, keys } = newRoot();
    const gens = new Generations(redis, root, { graceMs: 60_000 });
    await seed(keys, 4, 3);
    expect(await gens.deleteGeneration(4, { pauseMs: 0 })).toEqual({ deleted: 4, complete: true });
    expect(await countOf(root, 4)).toBe(0);
  });
});
