import { ev, uniqueId, waitFor } from '@imgroups/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { post, send, World } from './test-helpers.js';

/**
 * The page cache against the suite's real Redis: a page is answered from the
 * process while nothing it was read from changes, and every change shows,
 * reported by Redis itself. The tests kill only their own app's connections
 * (named after the world's key root).
 */

let admin: Redis;

beforeAll(() => {
  admin = new Redis(inject('testEnv').redisUrl); // the one Redis, for CLIENT LIST/KILL (skipped on a cluster, below)
});
afterAll(() => {
  admin.disconnect();
});

/** Kills the app's cache connection of this role (page-reads, invalidations); returns how many. */
async function killConnections(world: World, role: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  const mine = list.split('\n').filter((l) => l.includes(` name=imgroups-query-api:${world.root}:${role} `));
  for (const line of mine) await admin.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
  return mine.length;
}

async function metric(app: FastifyInstance, name: string): Promise<number | undefined> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

const PAGE = '/group/get_joined_group_list';
const pageOf = async (app: FastifyInstance, user: string) => {
  const res = await send(app, post(PAGE, { fromUserID: user, pagination: { pageNumber: 1, showNumber: 10 } }, user));
  expect(res.body.errCode, res.raw).toBe(0);
  return res.body.data as { total: number; groups: { groupID: string; groupName: string; memberCount: number }[] };
};

type PageData = Awaited<ReturnType<typeof pageOf>>;
const renamedTo = (name: string) => (p: PageData) => p.groups[0]?.groupName === name;

/** Asks until the answer shows a change (Redis's report has dropped the cached page). */
const untilShown = (app: FastifyInstance, user: string, what: string, shows: (p: PageData) => boolean) =>
  waitFor(async () => shows(await pageOf(app, user)), { timeoutMs: 5000, intervalMs: 5, message: `${what} shown` });

/** Asks until an answer comes from the cache (tracking is turned on asynchronously after connecting). */
async function untilCached(app: FastifyInstance, user: string) {
  await waitFor(
    async () => {
      const before = (await metric(app, 'imgroups_page_cache_hits_total')) ?? 0;
      await pageOf(app, user);
      return ((await metric(app, 'imgroups_page_cache_hits_total')) ?? 0) > before;
    },
    { timeoutMs: 10_000, intervalMs: 20, message: 'a page answered from the cache' },
  );
}

// CLIENT TRACKING on one connection, CLIENT LIST/KILL on one server: the page
// cache as it stands is for one Redis, so these tests do not apply on a Redis
// Cluster (TEST_REDIS=cluster).
describe.skipIf(inject('testEnv').redisTopology === 'cluster')('the page cache', () => {
  it('answers a repeated page from the process, and every kind of change shows in the next answers', async () => {
    const world = await new World().start();
    try {
      const user = uniqueId('u');
      const other = uniqueId('v');
      await world.joinGroups(user, [
        { groupID: 'g1', joinTime: 1000 },
        { groupID: 'g2', joinTime: 2000 },
      ]);
      const app = await world.app();
      await untilCached(app, user);

      const changes: [string, object, (p: PageData) => boolean][] = [
        ['a rename', ev.infoUpdated('g1', { groupName: 'renamed' }), renamedTo('renamed')],
        ['another member', ev.joined('g2', [{ userID: other, joinTime: 3000 }]), (p) => p.groups[1]?.memberCount === 3],
        ['a group joined', ev.created('g3', { userID: other, joinTime: 1 }, [{ userID: user, joinTime: 3000 }]), (p) => p.total === 3],
        ['a group left', ev.left('g1', [user]), (p) => p.total === 2 && p.groups[0]?.groupID === 'g2'],
        ['a group dismissed', ev.dismissed('g3'), (p) => p.total === 1],
      ];
      for (const [what, event, shows] of changes) {
        // Before the change the answer comes from the cache ...
        await untilCached(app, user);
        expect(shows(await pageOf(app, user)), `${what}: not yet applied`).toBe(false);
        await world.apply(event);
        // ... and Redis's report of the change drops it (no waiting for an age limit: that is 300 s).
        await untilShown(app, user, what, shows);
      }

      // A generation switch: the active key itself changed.
      const next = world.gen + 1;
      await world.readModel.apply(next, 0, []);
      await world.redis.set(world.readModel.keys.active, String(next));
      await untilShown(app, user, 'the switch', (p) => p.total === 0);
      expect(await metric(app, 'imgroups_page_cache_invalidations_total')).toBeGreaterThan(0);
    } finally {
      await world.stop();
    }
  });

  it('forgets everything when its connections drop, serves nothing stale meanwhile, and caches again once tracking is back', async () => {
    const world = await new World().start();
    try {
      const user = uniqueId('u');
      await world.joinGroups(user, [{ groupID: 'g1', joinTime: 1000 }]);
      const app = await world.app();
      await untilCached(app, user);

      // Kill the connection the reports come on, then the tracked one (its tracking goes
      // with it); each time change the page while it is down.
      for (const role of ['invalidations', 'page-reads']) {
        await untilCached(app, user);
        expect(await killConnections(world, role)).toBe(1);
        await world.apply(ev.infoUpdated('g1', { groupName: `while ${role} was down` }));
        await untilShown(app, user, `the change after ${role} dropped`, renamedTo(`while ${role} was down`));
        // Tracking comes back by itself, and its reports work again.
        await untilCached(app, user);
        await world.apply(ev.infoUpdated('g1', { groupName: `after ${role}` }));
        await untilShown(app, user, `the change after ${role} came back`, renamedTo(`after ${role}`));
      }
    } finally {
      await world.stop();
    }
  });

  it('with QUERY_CACHE_MAX_BYTES=0 opens no connection of its own and reads every page from Redis', async () => {
    const world = await new World().start();
    try {
      const user = uniqueId('u');
      await world.joinGroups(user, [{ groupID: 'g1', joinTime: 1000 }]);
      const app = await world.app({ QUERY_CACHE_MAX_BYTES: '0' });
      for (let i = 0; i < 3; i++) expect((await pageOf(app, user)).total).toBe(1);
      expect(await metric(app, 'imgroups_page_cache_hits_total')).toBeUndefined();
      expect(((await admin.client('LIST')) as string).includes(`imgroups-query-api:${world.root}:`)).toBe(false);
      await world.apply(ev.infoUpdated('g1', { groupName: 'at once' }));
      expect((await pageOf(app, user)).groups[0]?.groupName).toBe('at once');
    } finally {
      await world.stop();
    }
  });
});
