import { GROUP_INFO_FIELDS, NUMERIC_GROUP_FIELDS } from '@imgroups/contracts';
import { uniqueId, waitFor } from '@imgroups/testing';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ReadModel } from './read-model.js';
import { BASE_TIME, eventFactory, positioned, withModel, type Card } from './read-model.test-helpers.js';
import { masters, type RedisClient } from './redis-client.js';
import { testRedis } from './redis.test-helpers.js';

/**
 * Page reads (the page Lua script, then the cards) against a real Redis: the
 * edges of a page, a card gone between the two steps of a read, no active
 * generation, and the cost of a page read whatever the list's length. Every
 * test works under its own key root and removes it at the end; nothing
 * flushes Redis.
 */

let redis: RedisClient;
const onCluster = inject('testEnv').redisTopology === 'cluster';

beforeAll(() => {
  redis = testRedis(inject('testEnv'));
});

afterAll(async () => {
  await redis.quit();
});

// ---------------------------------------------------------------------------
// Page reads

describe('page reads', () => {
  it('return the total with an empty list past the end, and the total with no groups for count 0', async () => {
    await withModel(redis, {}, async (rm, gen) => {
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

  it('when a card is gone by the time the cards are read, read the page again with the generation asked of Redis: the groups with cards', async () => {
    await withModel(redis, {}, async (rm, gen) => {
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
      const spy = vi.spyOn(rm.generations, 'current');
      try {
        const page = await rm.readPageCards('u1', 0, 9000);
        // Read again, with the generation asked of Redis rather than the cache.
        expect(spy).toHaveBeenCalledWith({ fresh: true });
        expect(page.total).toBe(9000);
        expect(page.generation).toBe(gen);
        const ids = page.cards.map((c) => (JSON.parse(c.toString()) as Card).groupID);
        expect(ids).toEqual(groups.filter((g) => g !== 'gm00001'));
      } finally {
        spy.mockRestore();
      }
      // Without a missing card, the two-step read alone answers.
      const spy2 = vi.spyOn(rm.generations, 'current');
      try {
        expect((await rm.readPageCards('u1', 2, 3)).cards.map((c) => (JSON.parse(c.toString()) as Card).groupID)).toEqual([
          'gm00002',
          'gm00003',
          'gm00004',
        ]);
        expect(spy2).not.toHaveBeenCalledWith({ fresh: true });
      } finally {
        spy2.mockRestore();
      }
    });
  });

  it('report no generation and total 0 before any generation is active', async () => {
    const rm = new ReadModel(redis, { root: uniqueId('rmt'), dedupeWindow: 10 });
    expect(await rm.readPage('u1', 0, 10)).toEqual({ total: 0, groupsJson: '', generation: null });
  });

  // MONITOR watches one server: on a Redis Cluster the script, the card reads and the markers run on different nodes.
  it.skipIf(onCluster)('a page read issues the same Redis commands for a user with 10 groups and one with 100,000', async () => {
    // The active generation resolved once and kept for the whole test: every read below is the page's own commands.
    await withModel(redis, { activeTtlMs: 600_000 }, async (rm, gen, root) => {
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
      // Warm up: the script is loaded and the generation resolved, so every read below is one EVALSHA and one MGET.
      await rm.readPage(small, 0, pageSize);

      const monitor = await masters(redis)[0]!.monitor(); // the one Redis (skipped on a cluster)
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

        // ... and each cost one EVALSHA (the same two commands inside Lua) and one MGET of 10 cards.
        const expectedLua = ['zcard', 'zrange'];
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
