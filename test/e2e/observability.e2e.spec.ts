import { GROUP_MEMBER_FIELDS } from '@imgroups/contracts';
import { freePort } from '@imgroups/devenv';
import { ev, testKafka, uniqueId, waitFor, type RawGroupEvent } from '@imgroups/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startServices, type RunningServices } from '../support/services.js';

/**
 * Both services as processes, as an operator runs them: the projector's
 * /metrics on its own port (PROJECTOR_METRICS_PORT), the query API's
 * /readyz, /metrics and /docs, and the related read APIs over real HTTP with
 * an admin token from get_admin_token (the curl examples in docs/http-api.md).
 */
const testEnv = inject('testEnv');
let services: RunningServices;
let producer: Producer;
let projectorMetrics: string;

beforeAll(async () => {
  const metricsPort = await freePort();
  services = await startServices(testEnv, { PROJECTOR_METRICS_PORT: String(metricsPort), PROJECTOR_METRICS_HOST: '127.0.0.1' });
  projectorMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
  producer = testKafka(testEnv.kafkaBrokers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  if (!services) return;
  const stopped = await services.stop();
  expect(stopped, services.output()).toMatchObject({ projector: 0, queryApi: 0 });
});

async function publish(events: (RawGroupEvent | { key: string; value: string })[]) {
  await producer.send({
    topic: services.env.EVENTS_TOPIC!,
    acks: -1,
    messages: events.map((e) => ('eventID' in e ? { key: e.groupID, value: JSON.stringify(e) } : e)),
  });
}

/** Sum of the samples of `name` whose labels include `labels`. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`).exec(line);
    if (!m) continue;
    const got = (m[1] ?? '').split(',');
    if (Object.entries(labels).every(([k, v]) => got.includes(`${k}="${v}"`))) sum += Number(m[2]);
  }
  return sum;
}

async function adminToken(): Promise<string> {
  const res = await fetch(`${services.api}/auth/get_admin_token`, {
    method: 'POST',
    headers: { operationID: uniqueId('op'), 'content-type': 'application/json' },
    body: JSON.stringify({ secret: 'e2e-secret', userID: 'imAdmin' }),
  });
  return ((await res.json()) as { data: { token: string } }).data.token;
}

async function call(path: string, body: unknown, token: string) {
  const res = await fetch(`${services.api}${path}`, {
    method: 'POST',
    headers: { operationID: uniqueId('op'), token, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { errCode: number; data?: Record<string, any> } };
}

describe('the projector\'s /metrics', () => {
  it('counts events by type, dead letters, per-partition lag and batch durations as events flow', async () => {
    const [owner, member, g] = [uniqueId('o'), uniqueId('m'), uniqueId('g')];
    await publish([
      ev.created(g, { userID: owner, joinTime: 1 }),
      ev.joined(g, [{ userID: member, joinTime: 2 }]),
      { key: g, value: '{"not": "an event"' },
      ev.joined(g, [{ userID: member, joinTime: 3 }]), // already a member: ignored, counted
    ]);
    const text = await waitFor(
      async () => {
        const body = await (await fetch(projectorMetrics)).text();
        return total(body, 'projector_dead_letters_total') >= 1 && total(body, 'projector_events_total', { type: 'member.joined', outcome: 'already_member' }) >= 1
          ? body
          : undefined;
      },
      { timeoutMs: 60_000, message: 'projector metrics after the events' },
    );
    expect(total(text, 'projector_events_total', { type: 'group.created', outcome: 'applied' })).toBeGreaterThanOrEqual(1);
    expect(total(text, 'projector_events_total', { type: 'member.joined', outcome: 'applied' })).toBeGreaterThanOrEqual(1);
    expect(total(text, 'projector_messages_total')).toBeGreaterThanOrEqual(4);
    expect(total(text, 'projector_batch_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(new RegExp(`^projector_partition_lag\\{topic="${services.env.EVENTS_TOPIC!.replace(/\./g, '\\.')}",partition="\\d+"\\} 0$`, 'm'));
  });
});

describe('the query API, over HTTP', () => {
  it('is ready once the projector has made a generation active, and serves /metrics and /docs/json', async () => {
    const ready = await waitFor(async () => {
      const res = await fetch(`${services.api}/readyz`);
      return res.status === 200 ? ((await res.json()) as { data: { status: string; generation: number } }) : undefined;
    }, { message: 'ready' });
    expect(ready.data).toEqual({ status: 'ready', generation: 1 });
    const metrics = await fetch(`${services.api}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^imgroups_http_request_duration_seconds_count\{route="\/readyz",errCode="0"\} \d+$/m);
    const docs = (await (await fetch(`${services.api}/docs/json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(docs.openapi).toMatch(/^3\./);
    expect(Object.keys(docs.paths)).toEqual(expect.arrayContaining(['/group/get_groups_info', '/group/get_group_member_list', '/group/get_full_join_group_ids']));
  });

  it('answers the related reads with an admin token: groups info, member list, full join group IDs', async () => {
    const [owner, member, g] = [uniqueId('o'), uniqueId('m'), uniqueId('g')];
    await publish([ev.created(g, { userID: owner, joinTime: 10 }, [{ userID: member, joinTime: 20 }])]);
    const token = await adminToken();
    const info = await waitFor(async () => {
      const r = await call('/group/get_groups_info', { groupIDs: [g] }, token);
      return r.body.data?.groupInfos.length === 1 ? r : undefined;
    }, { message: 'group projected' });
    expect(info.body.data!.groupInfos[0]).toMatchObject({ groupID: g, memberCount: 2, ownerUserID: owner });

    const members = await call('/group/get_group_member_list', { groupID: g, pagination: { pageNumber: 1, showNumber: 10 } }, token);
    expect(members.body.data!.total).toBe(2);
    expect(members.body.data!.members.map((m: { userID: string }) => m.userID)).toEqual([owner, member]);
    expect(Object.keys(members.body.data!.members[0])).toEqual([...GROUP_MEMBER_FIELDS]);

    const ids = await call('/group/get_full_join_group_ids', { userID: member }, token);
    // versionID: the key root's epoch (16 hex digits), then generation 1 (8).
    expect(ids.body.data).toEqual({ version: 1, versionID: expect.stringMatching(/^[0-9a-f]{16}00000001$/), equal: false, groupIDs: [g] });
  });
});
