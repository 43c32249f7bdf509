import { GROUP_INFO_FIELDS } from '@imgroups/contracts';
import { ev, openImToken, testKafka, uniqueId, waitFor, type RawGroupEvent } from '@imgroups/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startServices, type RunningServices } from '../support/services.js';

/**
 * The real path: events in through the broker, the projector and the query
 * API as processes started from their main.ts, pages out over HTTP.
 * Every test makes its own users and groups.
 */
const testEnv = inject('testEnv');
let services: RunningServices;
let producer: Producer;
const SECRET = 'e2e-secret';

beforeAll(async () => {
  services = await startServices(testEnv);
  producer = testKafka(testEnv.kafkaBrokers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  if (!services) return;
  const stopped = await services.stop();
  // Graceful shutdown is part of the contract: both exit 0, within the 10 s bound.
  expect(stopped, services.output()).toMatchObject({ projector: 0, queryApi: 0 });
  expect(stopped.ms).toBeLessThan(10_000);
});

async function publish(events: (RawGroupEvent | { key: string; value: string })[]) {
  await producer.send({
    topic: services.env.EVENTS_TOPIC!,
    acks: -1,
    messages: events.map((e) => ('eventID' in e ? { key: e.groupID, value: JSON.stringify(e) } : e)),
  });
}

interface Envelope {
  errCode: number;
  errMsg: string;
  errDlt: string;
  data?: { total: number; groups: Record<string, unknown>[] };
}

async function call(path: string, body: unknown, headers: Record<string, string | undefined>): Promise<{ status: number; body: Envelope }> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
  const res = await fetch(`${services.api}${path}`, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Envelope };
}

const tokenFor = (userID: string, opts?: Parameters<typeof openImToken>[2]) => openImToken(SECRET, userID, opts);
const list = (fromUserID: string, pageNumber: number, showNumber: number, token = tokenFor(fromUserID)) =>
  call('/group/get_joined_group_list', { fromUserID, pagination: { pageNumber, showNumber } }, { operationID: uniqueId('op'), token });

describe('events through Kafka appear in paged HTTP answers', () => {
  it('pages a user\'s groups by join time then groupID, with full total, every field and exact memberCount', async () => {
    const u = uniqueId('user');
    const [ga, gb, gc, gd, ge] = ['a', 'b', 'c', 'd', 'e'].map((s) => uniqueId(`g${s}`)) as [string, string, string, string, string];
    const other = uniqueId('other');
    await publish([
      ev.created(ga, { userID: other, joinTime: 100 }, [{ userID: u, joinTime: 5000 }], { notification: 'n', faceURL: 'http://x/y.png' }),
      ev.created(gb, { userID: u, joinTime: 1000 }),
      ev.created(gc, { userID: other, joinTime: 100 }, [{ userID: u, joinTime: 3000 }]),
      ev.created(gd, { userID: other, joinTime: 100 }, [{ userID: u, joinTime: 3000 }]), // same join time as gc
      ev.created(ge, { userID: other, joinTime: 100 }, [{ userID: u, joinTime: 2000 }]),
      ev.joined(ga, [{ userID: uniqueId('x'), joinTime: 6000 }, { userID: uniqueId('y'), joinTime: 6001 }]),
      ev.infoUpdated(gb, { groupName: 'renamed', ex: '{"k":1}' }),
      ev.left(ge, [u]),
      ev.joined(ge, [{ userID: u, joinTime: 9000 }]), // rejoin: new join time, moves to the end
      ev.statusChanged(gc, 3),
    ]);
    const expectedOrder = [gb, ...[gc, gd].sort(), ga, ge];
    const all = await waitFor(async () => {
      const r = await list(u, 1, 10);
      const ids = r.body.data?.groups.map((g) => g.groupID);
      return JSON.stringify(ids) === JSON.stringify(expectedOrder) && r.body.data?.groups[0]?.groupName === 'renamed' ? r : undefined;
    }, { message: 'all five groups in order' });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ errCode: 0, errMsg: '', errDlt: '', data: { total: 5 } });
    const byId = Object.fromEntries(all.body.data!.groups.map((g) => [g.groupID, g]));
    for (const g of all.body.data!.groups) expect(Object.keys(g)).toEqual([...GROUP_INFO_FIELDS]);
    expect(byId[ga]).toMatchObject({ memberCount: 4, notification: 'n', faceURL: 'http://x/y.png', ownerUserID: other, status: 0, groupType: 2 });
    expect(byId[gb]).toMatchObject({ memberCount: 1, groupName: 'renamed', ex: '{"k":1}', createTime: 1000, ownerUserID: u });
    expect(byId[gc]).toMatchObject({ status: 3, memberCount: 2 });
    expect(byId[ge]).toMatchObject({ memberCount: 2 });

    const page1 = await list(u, 1, 2);
    const page3 = await list(u, 3, 2);
    expect(page1.body.data).toMatchObject({ total: 5 });
    expect(page1.body.data!.groups.map((g) => g.groupID)).toEqual(expectedOrder.slice(0, 2));
    expect(page3.body.data!.groups.map((g) => g.groupID)).toEqual(expectedOrder.slice(4));
    expect((await list(u, 4, 2)).body.data).toEqual({ total: 5, groups: [] });
    expect((await list(u, 1, 0)).body.data).toEqual({ total: 5, groups: [] });
  });

  it('drops a dismissed group from every member\'s list', async () => {
    const [u1, u2, g] = [uniqueId('u'), uniqueId('u'), uniqueId('g')];
    await publish([ev.created(g, { userID: u1, joinTime: 1 }, [{ userID: u2, joinTime: 2 }])]);
    await waitFor(async () => (await list(u2, 1, 10)).body.data?.total === 1, { message: 'group listed' });
    await publish([ev.dismissed(g), ev.joined(g, [{ userID: uniqueId('late'), joinTime: 3 }])]);
    await waitFor(async () => (await list(u1, 1, 10)).body.data?.total === 0, { message: 'group gone for the owner' });
    expect((await list(u2, 1, 10)).body.data).toEqual({ total: 0, groups: [] });
  });

  it('dead-letters a poison message and still applies the events behind it in the same partition', async () => {
    const [u, g] = [uniqueId('u'), uniqueId('g')];
    await publish([
      ev.created(g, { userID: u, joinTime: 1 }),
      { key: g, value: 'this is not json' },
      ev.joined(g, [{ userID: uniqueId('behind'), joinTime: 2 }]),
    ]);
    const r = await waitFor(async () => {
      const page = await list(u, 1, 10);
      return page.body.data?.groups[0]?.memberCount === 2 ? page : undefined;
    }, { message: 'event behind the poison applied' });
    expect(r.body.data!.total).toBe(1);

    const consumer = testKafka(testEnv.kafkaBrokers).consumer({ groupId: uniqueId('dlq-') });
    const letters: Record<string, unknown>[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: services.env.DLQ_TOPIC!, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void letters.push(JSON.parse(message.value!.toString())) });
    try {
      const letter = await waitFor(() => letters.find((l) => l.key === g), { message: 'dead letter for the poison' });
      expect(letter).toMatchObject({ kind: 'invalid_json', topic: services.env.EVENTS_TOPIC, value: 'this is not json' });
      expect(letter.reason).toMatch(/not JSON/);
      expect(typeof letter.partition).toBe('number');
      expect(Number(letter.offset)).toBeGreaterThan(0);
    } finally {
      await consumer.disconnect();
    }
  });
});

describe('every error case of the contract, over HTTP', () => {
  const path = '/group/get_joined_group_list';
  const body = (fromUserID: string, pagination: unknown = { pageNumber: 1, showNumber: 10 }) => ({ fromUserID, pagination });

  it('answers 1001 naming the missing header, operationID first, then token', async () => {
    const u = uniqueId('u');
    const noOp = await call(path, body(u), { token: tokenFor(u) });
    expect(noOp).toEqual({ status: 200, body: { errCode: 1001, errMsg: 'ArgsError', errDlt: 'header must have operationID' } });
    const noToken = await call(path, body(u), { operationID: '1' });
    expect(noToken.body).toEqual({ errCode: 1001, errMsg: 'ArgsError', errDlt: 'header must have token' });
  });

  it('answers 1001 for missing pagination, pageNumber < 1, empty fromUserID and showNumber over the maximum', async () => {
    const u = uniqueId('u');
    const h = { operationID: '1', token: tokenFor(u) };
    const cases = [
      { fromUserID: u },
      body(u, { pageNumber: 0, showNumber: 10 }),
      body('', { pageNumber: 1, showNumber: 10 }),
      body(u, { pageNumber: 1, showNumber: 1001 }),
    ];
    const answers = await Promise.all(cases.map((c) => call(path, c, { ...h, token: tokenFor(c.fromUserID || u) })));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body).toMatchObject({ errCode: 1001, errMsg: 'ArgsError' });
      expect(a.body.data).toBeUndefined();
    }
    expect(answers[0]!.body.errDlt).toMatch(/pagination/);
    expect(answers[1]!.body.errDlt).toMatch(/pageNumber/);
    expect(answers[2]!.body.errDlt).toMatch(/fromUserID/);
    expect(answers[3]!.body.errDlt).toMatch(/1000/);
  });

  it('answers an empty page with the full total for showNumber 0 and past the end, and [] for a user with no groups', async () => {
    const u = uniqueId('nobody');
    expect((await list(u, 1, 10)).body).toEqual({ errCode: 0, errMsg: '', errDlt: '', data: { total: 0, groups: [] } });
  });

  it('lets an admin read any list, refuses another user with 1002', async () => {
    const [u, intruder] = [uniqueId('u'), uniqueId('intruder')];
    expect((await list(u, 1, 10, tokenFor(intruder))).body).toMatchObject({ errCode: 1002, errMsg: 'NoPermissionError' });
    const admin = await call('/auth/get_admin_token', { secret: SECRET, userID: 'imAdmin' }, { operationID: '1' });
    expect(admin.body.errCode).toBe(0);
    const token = (admin.body.data as unknown as { token: string; expireTimeSeconds: number }).token;
    expect((await list(u, 1, 10, token)).body).toMatchObject({ errCode: 0, data: { total: 0, groups: [] } });
  });

  it('maps token problems to 1501 expired, 1503 malformed, 1505 bad signature', async () => {
    const u = uniqueId('u');
    const expired = tokenFor(u, { nowSeconds: Math.floor(Date.now() / 1000) - 7200, ttlSeconds: 60 });
    expect((await list(u, 1, 10, expired)).body.errCode).toBe(1501);
    expect((await list(u, 1, 10, 'not-a-jwt')).body.errCode).toBe(1503);
    expect((await list(u, 1, 10, openImToken('another-secret', u))).body.errCode).toBe(1505);
  });

  it('refuses an admin token for a wrong secret (1002) or a non-admin userID (1001)', async () => {
    const wrong = await call('/auth/get_admin_token', { secret: 'nope', userID: 'imAdmin' }, { operationID: '1' });
    expect(wrong.body).toMatchObject({ errCode: 1002 });
    const notAdmin = await call('/auth/get_admin_token', { secret: SECRET, userID: uniqueId('u') }, { operationID: '1' });
    expect(notAdmin.body).toMatchObject({ errCode: 1001 });
  });
});
