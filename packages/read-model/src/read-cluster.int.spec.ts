import { redisClusterInstalled, startRedisCluster, type LocalRedisCluster } from '@imgroups/devenv';
import { uniqueId } from '@imgroups/testing';
import calculateSlot from 'cluster-key-slot';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { acquireRebuildLock, Generations } from './generations.js';
import { ReadModel } from './read-model.js';
import { connectRedis, isCluster, masters, scanAll, type RedisClient } from './redis-client.js';
import { setScriptCallObserver } from './scripts.js';
import { LOG, Seeder } from './seed.test-helpers.js';

/**
 * The read path on a Redis Cluster (3 masters, 3 replicas, its own
 * processes): the same data seeded with plain commands into the suite's
 * single Redis and into the Cluster must give the same answers to every
 * read, each script call must touch one slot, a page's cards must come per
 * node in one round trip each, and the generation bookkeeping (switch,
 * lock, deletion on every master) must work there too.
 */

const EPOCH = 'fedcba9876543210';
const GEN = 3;
const VID = `${EPOCH}${GEN.toString(16).padStart(8, '0')}`;
const USER = 'u1';
const FRIEND = 'u2';
const GROUPS = Array.from({ length: 24 }, (_, i) => `g${String(i).padStart(2, '0')}`);

/** A user in 24 groups (one left, gX, dismissed since), with join and member logs. */
async function seedWorld(redis: RedisClient, root: string): Promise<void> {
  const s = new Seeder(redis, root, GEN);
  await s.activate(EPOCH);
  for (const [i, g] of GROUPS.entries()) {
    await s.group({
      groupID: g,
      ownerUserID: FRIEND,
      members: [
        { userID: FRIEND, joinTime: 100 + i, roleLevel: 100 },
        { userID: USER, joinTime: 1000 + i },
      ],
      // g00's log: the friend joined (1), the user joined (2), the group's info changed (3), u3 left (4).
      memberLog: i === 0 ? [[FRIEND, 1, LOG.joined], [USER, 2, LOG.joined], ['', 3, LOG.changed], ['u3', 4, LOG.left]] : [[FRIEND, 1, LOG.joined], [USER, 2, LOG.joined]],
      sortVersion: i === 0 ? 2 : 0,
    });
  }
  await s.joined(USER, GROUPS.map((groupID, i) => ({ groupID, joinTime: 1000 + i })));
  await s.dismissed('gX');
  await s.joinLog(USER, [...GROUPS.map((g, i): [string, number, number] => [g, i + 1, LOG.joined]), ['gX', 25, LOG.left]]);
}

async function answers(rm: ReadModel) {
  const member = { userID: USER, isAdmin: false };
  return {
    firstPage: await rm.readPage(USER, 0, 10),
    lastPage: await rm.readPage(USER, 20, 10),
    countZero: await rm.readPage(USER, 0, 0),
    nobody: await rm.readPage('nobody', 0, 10),
    groupsInfo: await rm.readGroupsInfo(['g05', 'gX', 'unknown', 'g01']),
    memberPage: await rm.readMemberPage('g00', member, 0, 10),
    stranger: await rm.readMemberPage('g00', { userID: 'stranger', isAdmin: false }, 0, 10),
    joinedIDs: await rm.readJoinedGroupIDs(USER),
    joinSyncFull: await rm.sync.readJoinSync(USER, { versionID: '', version: 0 }),
    joinSync: await rm.sync.readJoinSync(USER, { versionID: VID, version: 20 }),
    memberSync: await rm.sync.readMemberSync('g00', member, { versionID: VID, version: 1 }),
    memberIDs: await rm.sync.readMemberIDs('g00', member),
  };
}

const idsOf = (json: string) => (JSON.parse(`[${json}]`) as { groupID: string }[]).map((g) => g.groupID);

describe.skipIf(!redisClusterInstalled())('the read path on a Redis Cluster (redis-server and redis-cli ≥ 7.0 on PATH)', () => {
  let cluster: LocalRedisCluster;
  let client: Cluster;
  let single: Redis;
  const root = uniqueId('rmc');

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const redis = connectRedis({ clusterNodes: cluster.seeds.map((s) => `${s.host}:${s.port}`) });
    if (!isCluster(redis)) throw new Error('seed nodes make a Cluster client');
    client = redis;
    single = new Redis(inject('testEnv').redisUrl);
    await Promise.all([seedWorld(client, root), seedWorld(single, root)]);
  });

  afterAll(async () => {
    if (single) {
      await scanAll(single, `${root}:*`, 1000, async (keys, node) => void (await node.unlink(...keys)));
      single.disconnect();
    }
    client?.disconnect();
    await cluster?.stop();
  });

  it('answers every read as a single Redis does, each script call within one slot', async () => {
    const onSingle = await answers(new ReadModel(single, { root, dedupeWindow: 1 }));
    const calls: (readonly string[])[] = [];
    setScriptCallObserver((_name, keys) => calls.push(keys));
    let onCluster;
    try {
      onCluster = await answers(new ReadModel(client, { root, dedupeWindow: 1 }));
    } finally {
      setScriptCallObserver(undefined);
    }
    expect(onCluster).toEqual(onSingle);
    expect(calls.length).toBeGreaterThanOrEqual(8);
    for (const keys of calls) expect(new Set(keys.map((k) => calculateSlot(k))).size, keys.join(' ')).toBe(1);

    // And the answers are the right ones.
    expect(onSingle.firstPage.total).toBe(24);
    expect(onSingle.firstPage.generation).toBe(GEN);
    expect(idsOf(onSingle.firstPage.groupsJson)).toEqual(GROUPS.slice(0, 10));
    expect(idsOf(onSingle.lastPage.groupsJson)).toEqual(GROUPS.slice(20));
    expect(onSingle.countZero).toEqual({ total: 24, groupsJson: '', generation: GEN });
    expect(onSingle.nobody).toEqual({ total: 0, groupsJson: '', generation: GEN });
    const infos = JSON.parse(`[${onSingle.groupsInfo.groupsJson}]`) as { groupID: string; status: number; memberCount: number }[];
    expect(infos.map((g) => [g.groupID, g.status, g.memberCount])).toEqual([
      ['g05', 0, 2],
      ['gX', 2, 0],
      ['g01', 0, 2],
    ]);
    expect(onSingle.memberPage.outcome).toBe('ok');
    expect((JSON.parse(`[${onSingle.memberPage.membersJson}]`) as { userID: string }[]).map((m) => m.userID)).toEqual([FRIEND, USER]);
    expect(onSingle.stranger).toEqual({ outcome: 'no_permission', total: 0, membersJson: '' });
    expect(onSingle.joinedIDs).toEqual({ groupIDs: GROUPS, version: 25, versionID: VID, generation: GEN });
    expect(onSingle.joinSyncFull).toEqual({ versionID: VID, version: 25, full: true, deleted: [], insertedJson: '' });
    expect(onSingle.joinSync).toMatchObject({ versionID: VID, version: 25, full: false, deleted: ['gX'] });
    expect(idsOf(onSingle.joinSync.insertedJson)).toEqual(GROUPS.slice(20));
    expect(onSingle.memberSync).toMatchObject({ outcome: 'ok', versionID: VID, version: 4, full: false, deleted: ['u3'], updatedJson: '', sortVersion: 2 });
    expect(idsOf(onSingle.memberSync.groupJson!)).toEqual(['g00']);
    expect(onSingle.memberIDs).toEqual({ outcome: 'ok', versionID: VID, version: 4, userIDs: [FRIEND, USER] });
  });

  it("fetches a page's cards with one pipeline per node, never a command per card", async () => {
    const rm = new ReadModel(client, { root, dedupeWindow: 1 });
    await rm.readPage(USER, 0, 10); // the generation resolved, the slots known
    const cardKeys = GROUPS.slice(0, 10).map((g) => rm.keys.entity('groupCard', GEN, g));
    const nodes = new Set(cardKeys.map((k) => client.slots[calculateSlot(k)]![0]));
    expect(nodes.size).toBeGreaterThan(1); // the page does span nodes
    const pipeline = vi.spyOn(client, 'pipeline');
    const get = vi.spyOn(client, 'getBuffer');
    try {
      const page = await rm.readPageCards(USER, 0, 10);
      expect(page.cards.map((c) => (JSON.parse(c.toString()) as { groupID: string }).groupID)).toEqual(GROUPS.slice(0, 10));
      expect(pipeline).toHaveBeenCalledTimes(nodes.size);
      expect(get).not.toHaveBeenCalled();
    } finally {
      pipeline.mockRestore();
      get.mockRestore();
    }
  });

  it('reads a page again with the generation asked of Redis when a card is gone, and leaves that group out', async () => {
    const gone = uniqueId('rmc');
    await seedWorld(client, gone);
    const rm = new ReadModel(client, { root: gone, dedupeWindow: 1 });
    await client.del(rm.keys.entity('groupCard', GEN, 'g03'));
    const current = vi.spyOn(rm.generations, 'current');
    const page = await rm.readPage(USER, 0, 10);
    expect(current).toHaveBeenCalledWith({ fresh: true });
    expect(page.total).toBe(24);
    expect(idsOf(page.groupsJson)).toEqual(GROUPS.slice(0, 10).filter((g) => g !== 'g03'));
    await scanAll(client, `${gone}:*`, 1000, async (keys, node) => {
      for (const key of keys) await node.unlink(key);
    });
  });

  it('switches generations, holds the rebuild lock and deletes a retired generation on every master', async () => {
    const own = uniqueId('rmc');
    const gens = new Generations(client, own, { graceMs: 0 });
    await gens.ensureActive();
    const old = new Seeder(client, own, 1);
    for (const g of GROUPS) await old.group({ groupID: g, members: [{ userID: USER, joinTime: 1 }] });
    await client.hset(gens.keys.checkpoints(1), { 0: '9' });
    await client.hset(gens.keys.checkpoints(2), { 0: '9' });
    const holding = async () => {
      const counts = await Promise.all(masters(client).map(async (node) => (await node.keys(`${own}:1:*`)).length));
      return counts.filter((n) => n > 0).length;
    };
    expect(await holding()).toBeGreaterThan(1);

    const lock = await acquireRebuildLock(client, own, { token: 't', host: 'h', pid: 1, startedAt: 1 });
    if (!lock.ok) throw new Error('the lock was not taken');
    await gens.startRebuild({ generation: 2, consumerGroup: 'g', startedAt: 1 });
    expect(await gens.flip({ from: 1, to: 2, lockValue: lock.lock.value })).toEqual({ ok: true, previous: 1 });
    await lock.lock.release();
    expect(await client.exists(gens.keys.rebuildLock)).toBe(0);
    expect((await gens.current({ fresh: true })).generation).toBe(2);

    // 24 groups * (card, info, members, minfo) + the checkpoint.
    expect(await gens.sweepRetired({ pauseMs: 0 })).toEqual([{ generation: '1', deleted: 24 * 4 + 1 }]);
    expect(await holding()).toBe(0);
    await scanAll(client, `${own}:*`, 1000, async (keys, node) => {
      for (const key of keys) await node.unlink(key);
    });
  });
});
