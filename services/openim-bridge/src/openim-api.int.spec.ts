import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackfill } from './backfill.js';
import type { BackfillRequest } from './mapping.js';
import { OpenIMApi, OpenIMApiError } from './openim-api.js';
import { standInGroup, startOpenIMApiStandIn, type OpenIMApiStandIn } from './testing/openim-api-stand-in.js';

/** The API client and the 1501 backfill over real HTTP, against the stand-in of OpenIM's API (OPENIM.md §3). */

const SECRET = 's3cret';
let api: OpenIMApiStandIn;
beforeAll(async () => {
  api = await startOpenIMApiStandIn({ secret: SECRET, adminUserIDs: ['imAdmin'] });
});
afterAll(() => api.close());

function client(now?: () => number, secret = SECRET) {
  return new OpenIMApi({ baseUrl: api.url, secret, adminUserID: 'imAdmin', timeoutMs: 2000, ...(now ? { now } : {}) });
}
const request = (groupID: string, notificationSeq: number | undefined = 1): BackfillRequest => ({
  groupID, notificationSeq, notificationVersionID: '', eventIDBase: `openim:x-${groupID}`, occurredAt: 5, operatorUserID: 'imAdmin',
});
const backfillWith = (c: OpenIMApi) =>
  createBackfill({ api: c, config: { OPENIM_SNAPSHOT_PART_MEMBERS: 2000, MAX_EVENT_BYTES: 1024 * 1024 }, logger: pino({ level: 'silent' }) });

describe('OpenIM API client', () => {
  it('reuses its admin token until shortly before it expires', async () => {
    api.groups.set('ga', standInGroup('ga', 3));
    let now = 1_000_000;
    const c = client(() => now);
    const tokensBefore = api.calls.get('/auth/get_admin_token') ?? 0;
    await c.getFullGroupMemberUserIDs('ga');
    await c.getFullGroupMemberUserIDs('ga');
    expect((api.calls.get('/auth/get_admin_token') ?? 0) - tokensBefore).toBe(1);
    now += 86_400_000 - 60_000; // inside the refresh margin of a one-day token
    await c.getFullGroupMemberUserIDs('ga');
    expect((api.calls.get('/auth/get_admin_token') ?? 0) - tokensBefore).toBe(2);
  });

  it('fetches a new token when OpenIM no longer knows the one it holds', async () => {
    api.groups.set('gb', standInGroup('gb', 2));
    const c = client();
    await c.getFullGroupMemberUserIDs('gb');
    api.tokens.clear();
    await expect(c.getFullGroupMemberUserIDs('gb')).resolves.toMatchObject({ userIDs: ['gb-owner', 'gb-m1'] });
  });

  it('pages members until a short page, as the SDK does', async () => {
    api.groups.set('gc', standInGroup('gc', 15));
    const before = api.calls.get('/group/get_group_member_list') ?? 0;
    const all = await client().getAllMembers('gc', 5);
    expect(all.map((m) => m.userID)).toHaveLength(15);
    expect((api.calls.get('/group/get_group_member_list') ?? 0) - before).toBe(4); // 5, 5, 5, then an empty page
  });

  it('tells a missing group, a refused secret and a down API apart', async () => {
    await expect(client().getFullGroupMemberUserIDs('nope')).rejects.toMatchObject({ kind: 'not_found', errCode: 1201 });
    await expect(client(undefined, 'wrong').getFullGroupMemberUserIDs('ga')).rejects.toMatchObject({ kind: 'refused', errCode: 1002 });
    api.down = true;
    try {
      const err = await client().getFullGroupMemberUserIDs('ga').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenIMApiError);
      expect(err).toMatchObject({ kind: 'unavailable' });
    } finally {
      api.down = false;
    }
  });
});

describe('1501 backfill', () => {
  it('publishes the group OpenIM has, with every member, at OpenIM\'s version', async () => {
    const g = standInGroup('gd', 50, { version: 7 });
    g.info.groupName = 'Fifty';
    api.groups.set('gd', g);
    const [snap, ...more] = await backfillWith(client())(request('gd'));
    expect(more).toEqual([]);
    expect(snap).toMatchObject({ eventID: 'openim:x-gd:1', type: 'group.snapshot', seq: 7, data: { group: { groupID: 'gd', groupName: 'Fifty', status: 0 } } });
    expect((snap as { data: { members: unknown[] } }).data.members).toHaveLength(50);
  });

  it('uses the notification\'s version when OpenIM answers an ID hash (v3.8.3 up to patch.2)', async () => {
    api.groups.set('ge', { ...standInGroup('ge', 2), version: 2 ** 63 + 2 ** 20 });
    const [snap] = await backfillWith(client())(request('ge', 4));
    expect(snap).toMatchObject({ seq: 4 });
  });

  it('publishes nothing for a group OpenIM no longer has', async () => {
    await expect(backfillWith(client())(request('gone'))).resolves.toEqual([]);
  });

  it('throws while OpenIM is down, so the bridge holds and retries', async () => {
    api.groups.set('gf', standInGroup('gf', 2));
    api.down = true;
    try {
      await expect(backfillWith(client())(request('gf'))).rejects.toBeInstanceOf(OpenIMApiError);
    } finally {
      api.down = false;
    }
  });
});
