import { loadConfig, type Config } from '@imgroups/config';
import { redisClusterInstalled, startRedisCluster, type LocalRedisCluster } from '@imgroups/devenv';
import { isCluster, type RedisClient } from '@imgroups/read-model';
import { LOG, Seeder } from '@imgroups/read-model/seed';
import { uniqueId } from '@imgroups/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from './app.js';
import { createRedis } from './redis.js';
import { ADMIN, listRequest, post, SECRET, send } from './test-helpers.js';

/**
 * The query API with its read model on a Redis Cluster of its own (3
 * masters, 3 replicas): the page, get_groups_info and the join sync answer
 * from data seeded there with plain commands, and no page cache runs.
 */

const EPOCH = '00112233445566ff';
const USER = 'u1';
const GROUPS = Array.from({ length: 12 }, (_, i) => `g${String(i).padStart(2, '0')}`);

describe.skipIf(!redisClusterInstalled())('the query API on a Redis Cluster (redis-server and redis-cli ≥ 7.0 on PATH)', () => {
  let cluster: LocalRedisCluster;
  let redis: RedisClient;
  let config: Config;
  let app: FastifyInstance;
  const root = uniqueId('qac');

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const settings = {
      REDIS_CLUSTER_NODES: cluster.seeds.map((s) => `${s.host}:${s.port}`).join(','),
      REDIS_KEY_PREFIX: root,
      LOG_LEVEL: 'silent',
      OPENIM_SECRET: SECRET,
      ADMIN_USER_IDS: ADMIN,
    };
    config = loadConfig(settings);
    redis = createRedis(config);
    const seed = new Seeder(redis, root, 1);
    await seed.activate(EPOCH);
    for (const g of GROUPS) await seed.group({ groupID: g, members: [{ userID: USER, joinTime: 1 }] });
    await seed.joined(USER, GROUPS.map((groupID, i) => ({ groupID, joinTime: 1000 + i })));
    await seed.joinLog(USER, GROUPS.map((g, i): [string, number, number] => [g, i + 1, LOG.joined]));
    app = await build({ config, redis, logger: false });
  });

  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
    await cluster?.stop();
  });

  const ids = (groups: { groupID: string }[]) => groups.map((g) => g.groupID);

  it('answers the page, get_groups_info and the join sync, with no page cache', async () => {
    expect(isCluster(redis)).toBe(true);
    for (let i = 0; i < 3; i++) {
      const res = await send(app, listRequest(USER, 2, 5));
      expect(res.body.errCode, res.raw).toBe(0);
      expect(res.body.data.total).toBe(12);
      expect(ids(res.body.data.groups)).toEqual(GROUPS.slice(5, 10));
    }
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).not.toMatch(/^imgroups_page_cache_hits_total /m);

    const info = await send(app, post('/group/get_groups_info', { groupIDs: ['g07', 'nope', 'g02'] }, USER));
    expect(ids(info.body.data.groupInfos)).toEqual(['g07', 'g02']);

    const full = await send(app, post('/group/get_full_join_group_ids', { userID: USER }, USER));
    expect(full.body.data).toMatchObject({ versionID: `${EPOCH}00000001`, version: 12, groupIDs: GROUPS });
    const since = await send(app, post('/group/get_incremental_join_groups', { userID: USER, versionID: `${EPOCH}00000001`, version: 10 }, USER));
    expect(since.body.data).toMatchObject({ full: false, version: 12, delete: [] });
    expect(ids(since.body.data.insert)).toEqual(['g10', 'g11']);
  });

  it("refuses TOKEN_STATUS_CHECK without OpenIM's own Redis: the token status is never read from the Cluster", async () => {
    await expect(build({ config: { ...config, TOKEN_STATUS_CHECK: true }, redis, logger: false })).rejects.toThrow(/tokenStatusRedis/);
  });
});
