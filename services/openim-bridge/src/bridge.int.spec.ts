import { loadConfig } from '@imgroups/config';
import { leaseTopics, testKafka, uniqueId, waitFor } from '@imgroups/testing';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { build, type Bridge } from './app.js';
import { createBackfill } from './backfill.js';
import { createBridgeMetrics, type BridgeMetrics } from './metrics.js';
import { OpenIMApi } from './openim-api.js';
import { chatRecord, goGroupInfo, goMember, goVersion, notificationRecord, serverMsgID } from './openim-traffic.js';
import { standInGroup, startOpenIMApiStandIn, type OpenIMApiStandIn } from './testing/openim-api-stand-in.js';

/**
 * The bridge against the real (mock) broker: OpenIM-shaped records on a
 * leased topic standing for `toRedis`, our events on another. OpenIM's HTTP
 * API is the test-only stand-in (OPENIM.md §3).
 */

const env = inject('testEnv');
const SECRET = 'bridge-test-secret';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function setup(extra: Record<string, string> = {}) {
  const source = await leaseTopics(env); // .events = toRedis, .dlq = the bridge's dead letters
  const ours = await leaseTopics(env);
  const id = uniqueId('br');
  const config = loadConfig({
    KAFKA_BROKERS: env.kafkaBrokers.join(','),
    EVENTS_TOPIC: ours.events,
    OPENIM_TOPIC: source.events,
    OPENIM_DLQ_TOPIC: source.dlq,
    OPENIM_CONSUMER_GROUP: `${id}-bridge`,
    OPENIM_FROM_BEGINNING: 'true',
    OPENIM_BACKOFF_MIN_MS: '50',
    OPENIM_BACKOFF_MAX_MS: '200',
    OPENIM_SNAPSHOT_PART_MEMBERS: '20',
    OPENIM_SECRET: SECRET,
    ADMIN_USER_IDS: 'imAdmin',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    KAFKA_RETRIES: '2',
    ...extra,
  });
  const producer = testKafka(env.kafkaBrokers).producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return { config, source, ours, id, producer };
}

function startBridge(config: ReturnType<typeof loadConfig>, opts: { api?: OpenIMApiStandIn; metrics?: BridgeMetrics } = {}): Bridge {
  const logger = pino({ level: process.env.BRIDGE_LOG ?? 'silent' });
  const metrics = opts.metrics ?? createBridgeMetrics();
  const backfill = opts.api
    ? createBackfill({
        api: new OpenIMApi({ baseUrl: opts.api.url, secret: SECRET, adminUserID: 'imAdmin', timeoutMs: 2000, onCall: (r) => metrics.backfillCall(r) }),
        config,
        logger,
        metrics,
      })
    : undefined;
  const bridge = build({
    config,
    sourceKafka: testKafka(config.OPENIM_KAFKA_BROKERS),
    kafka: testKafka(config.KAFKA_BROKERS),
    logger,
    metrics,
    ...(backfill ? { backfill } : {}),
  });
  cleanups.push(() => bridge.stop());
  return bridge;
}

interface Produced {
  key: string | undefined;
  eventID: string;
  type: string;
  groupID: string;
  seq?: number;
  data: Record<string, unknown>;
  [field: string]: unknown;
}

/** Everything on `topic` from the beginning, as it arrives. */
async function collect(topic: string) {
  const got: KafkaMessage[] = [];
  const consumer: Consumer = testKafka(env.kafkaBrokers).consumer({ groupId: uniqueId('reader-'), sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
  cleanups.push(() => consumer.disconnect());
  return {
    got,
    json: (): Produced[] => got.map((m) => ({ ...(JSON.parse(m.value!.toString()) as Produced), key: m.key?.toString() })),
    until: (n: number, what: string) => waitFor(() => got.length >= n, { timeoutMs: 60_000, message: `${n} ${what} (have ${got.length})` }),
  };
}

const T = 1_700_000_000_000;
const group = (groupID: string, over: Record<string, unknown> = {}) =>
  goGroupInfo({ groupID, groupName: 'g', ownerUserID: `${groupID}-owner`, creatorUserID: `${groupID}-owner`, createTime: T, ...over });
const created = (groupID: string, version = 1) =>
  notificationRecord({
    groupID,
    contentType: 1501,
    sendTime: T,
    serverMsgID: serverMsgID(`${groupID}:created`),
    tips: {
      group: group(groupID),
      opUser: goMember({ userID: `${groupID}-owner`, roleLevel: 100, joinTime: T }),
      memberList: [goMember({ userID: `${groupID}-owner`, roleLevel: 100, joinTime: T })],
      operationTime: T,
      groupOwnerUser: goMember({ userID: `${groupID}-owner`, roleLevel: 100, joinTime: T }),
      ...goVersion(version),
    },
  });
const entered = (groupID: string, userID: string, version: number) =>
  notificationRecord({
    groupID,
    contentType: 1510,
    sendTime: T + version,
    serverMsgID: serverMsgID(`${groupID}:enter:${userID}`),
    tips: { group: group(groupID), entrantUser: goMember({ userID, joinTime: T + version, joinSource: 3 }), operationTime: T + version, ...goVersion(version) },
  });

describe('openim bridge on a real broker', () => {
  it('ignores chat, publishes each notification keyed by group with stable IDs, and dead-letters a poison record without stalling', async () => {
    const { config, source, ours, producer } = await setup();
    const g1 = uniqueId('g');
    const g2 = uniqueId('g');
    // Same key = same partition, in this order: chat, a notification, poison, chat, a notification.
    await producer.send({
      topic: source.events,
      acks: -1,
      messages: [
        chatRecord({ from: 'u1', groupID: g1, text: 'hello' }),
        created(g1),
        { key: g1, value: Buffer.from([0x0a, 0xff, 0xff]) }, // truncated protobuf
        chatRecord({ from: 'u1', groupID: g1, text: 'again' }),
        entered(g1, 'u5', 2),
        chatRecord({ from: 'u1', to: 'u2', text: 'direct' }),
        entered(g2, 'u6', 2),
      ],
    });
    const bridge = startBridge(config);
    const events = await collect(ours.events);
    const letters = await collect(source.dlq);
    await bridge.start();
    await events.until(3, 'events');
    await letters.until(1, 'dead letter');

    const out = events.json();
    expect(out.map((e) => [e.key, e.type, e.groupID])).toEqual(
      expect.arrayContaining([
        [g1, 'group.created', g1],
        [g1, 'member.joined', g1],
        [g2, 'member.joined', g2],
      ]),
    );
    const g1Events = out.filter((e) => e.key === g1);
    expect(g1Events.map((e) => e.type)).toEqual(['group.created', 'member.joined']); // in offset order
    expect(g1Events.map((e) => e.eventID)).toEqual([`openim:${serverMsgID(`${g1}:created`)}:0`, `openim:${serverMsgID(`${g1}:enter:u5`)}`]);
    expect(g1Events[1]).toMatchObject({ seq: 2 });
    expect(letters.json()[0]).toMatchObject({ key: g1, kind: 'unreadable', topic: source.events, reason: expect.stringContaining('not a protobuf') });
    await waitFor(() => bridge.stats.read === 7, { message: 'all 7 records read' });
    expect(bridge.stats.ignored).toMatchObject({ chat: 2, not_group: 1 });
    expect(bridge.stats).toMatchObject({ mapped: 3, deadLettered: 1, produced: 3, backfillsSkipped: 1 });
  });

  it('commits OpenIM offsets only after our topic acknowledged: a bridge that cannot produce leaves the records to the next one', async () => {
    const { config, source, ours, producer } = await setup();
    const g = uniqueId('g');
    await producer.send({ topic: source.events, acks: -1, messages: [created(g), entered(g, 'u7', 2)] });
    // Our topic misspelt: nothing can be produced, so nothing may be committed.
    const stuck = startBridge(loadConfig({ ...configVars(config), EVENTS_TOPIC: `${ours.events}.missing` }));
    await stuck.start();
    await waitFor(() => stuck.stats.holds > 0, { message: 'the bridge holds on the failed produce' });
    expect(stuck.stats.produced).toBe(0);
    await stuck.stop();

    // Same consumer group, right topic: it starts from the uncommitted records.
    const events = await collect(ours.events);
    const bridge = startBridge(config);
    await bridge.start();
    await events.until(2, 'events');
    expect(events.json().map((e) => e.type)).toEqual(['group.created', 'member.joined']);
  });

  it('holds the partition while OpenIM\'s API is down, says so, then publishes the backfill and what followed, in order', async () => {
    const { config, source, ours, producer } = await setup();
    const api = await startOpenIMApiStandIn({ secret: SECRET, adminUserIDs: ['imAdmin'] });
    cleanups.push(() => api.close());
    const g = uniqueId('g');
    api.groups.set(g, standInGroup(g, 50, { version: 3, createTime: T, ownerUserID: `${g}-owner` }));
    api.down = true;
    const metrics = createBridgeMetrics();
    const bridge = startBridge(config, { api, metrics });
    const events = await collect(ours.events);
    await producer.send({ topic: source.events, acks: -1, messages: [created(g, 1), chatRecord({ from: 'u1', groupID: g, text: 'hi' }), entered(g, 'late', 4)] });
    await bridge.start();

    await events.until(1, 'group.created');
    await waitFor(async () => (await metrics.registry.getSingleMetricAsString('openim_bridge_partition_held')).includes('why="openim_api"} 1'), {
      message: 'held gauge set',
    });
    expect(events.json().map((e) => e.type)).toEqual(['group.created']); // nothing after the 1501 overtakes it

    api.down = false;
    await events.until(5, 'created + 3 snapshot parts + joined');
    const out = events.json();
    expect(out.map((e) => e.type)).toEqual(['group.created', 'group.snapshot', 'group.snapshot', 'group.snapshot', 'member.joined']);
    const parts = out.slice(1, 4) as unknown as { seq: number; eventID: string; data: { members: unknown[]; part: number; parts: number; group: { status: number } } }[];
    expect(parts.map((p) => [p.data.part, p.data.parts, p.seq])).toEqual([[1, 3, 3], [2, 3, 3], [3, 3, 3]]);
    expect(parts.flatMap((p) => p.data.members)).toHaveLength(50);
    expect(parts[0]!.eventID).toBe(`openim:${serverMsgID(`${g}:created`)}:1`);
    expect(await metrics.registry.getSingleMetricAsString('openim_bridge_partition_held')).toContain('why="openim_api"} 0');
    expect(bridge.stats).toMatchObject({ backfills: 1, holds: 1 });
  });
});

/** A loaded config back as the variables it came from (for a variant). */
function configVars(config: ReturnType<typeof loadConfig>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
  );
}
