import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEvent } from '@imgroups/contracts';
import { freePort, startMokapi, startRedisServer, type LocalProcess } from '@imgroups/devenv';
import { ReadModel } from '@imgroups/read-model';
import { diffProjection, modelOf } from '@imgroups/read-model/test-helpers';
import { unlinkMatching } from '@imgroups/read-model/test-redis';
import {
  ev,
  generateHistory,
  leaseTopics,
  openImToken,
  testKafka,
  TOPIC_POOL_SIZE,
  uniqueId,
  waitFor,
} from '@imgroups/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startPipeline, type Pipeline } from '../support/harness.js';
import { ENTRIES, launchService } from '../support/launch.js';
import { ProjectorLab, report, SEED, SMALL, sleepMs, usersOf } from '../support/reliability.js';

const testEnv = inject('testEnv');
const onCluster = testEnv.redisTopology === 'cluster';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});
async function lab(extra: Record<string, string> = {}) {
  const l = await ProjectorLab.create(testEnv, extra);
  cleanups.push(() => l.close());
  return l;
}
const progress = async (l: ProjectorLab, what: string, timeoutMs = 60_000) => {
  const before = await l.applied();
  await waitFor(async () => (await l.applied()) > before, { timeoutMs, message: what });
};

describe('reliability scenarios', () => {
  it('dedupe: a re-sent event within the window is a no-op, beyond it is applied again; the window is bounded', async () => {
    const l = await lab();
    const rm = new ReadModel(l.redis, { root: l.id, dedupeWindow: 128 });
    const gen = await rm.generations.ensureActive();
    const events = generateHistory({ seed: SEED, events: 1, groups: 1, users: 3, prefix: `${l.id}-` });
    const decode = (e: unknown) => {
      const d = decodeEvent(JSON.stringify(e));
      if (!d.ok) throw new Error(d.reason);
      return d.event;
    };
    const g = events[0]!.groupID;
    const joinOnce = ev.joined(g, [{ userID: `${l.id}-late`, joinTime: 5 }]);
    const leave = ev.left(g, [`${l.id}-late`]);
    let offset = 0;
    const apply = async (e: unknown) => (await rm.apply(gen, 0, [{ offset: String(offset++), event: decode(e) }]))[0];
    await apply(events[0]);
    await apply(joinOnce);
    await apply(leave);
    const fillers = (n: number) => Array.from({ length: n }, (_, i) => ev.infoUpdated(g, { groupName: `filler ${offset}-${i}` }));
    for (const f of fillers(125)) await apply(f);
    // The join is now 127 recorded events back: still inside the window of 128.
    expect(await apply(joinOnce)).toBe('duplicate_event');
    for (const f of fillers(2)) await apply(f);
    // 129 back: outside; the re-send applies again (the member rejoins).
    expect(await apply(joinOnce)).toBe('applied');
    const bytes = Number(await l.redis.call('MEMORY', 'USAGE', rm.keys.entity('groupSeen', gen, g)));
    const encoding = await l.redis.object('ENCODING', rm.keys.entity('groupSeen', gen, g));
    expect(await l.redis.zcard(rm.keys.entity('groupSeen', gen, g))).toBe(128);
    report(`dedupe: window 128 event IDs per group; re-send 127 events later: duplicate_event (no-op); 129 later: applied; full window ${bytes} bytes (${String(encoding)}, 11-character event keys)`);
  });

  it('rebalance: two projectors in one group, a third joins mid-ingest and one is killed; the projection equals the model', async () => {
    const l = await lab();
    const n = SMALL ? 6_000 : 20_000;
    const history = generateHistory({ seed: SEED + 1, events: n, groups: Math.round(n / 100), users: Math.round(n / 30), prefix: `${l.id}-` });
    const model = modelOf(history, 128);
    const third = Math.ceil(n / 3);
    const a = l.start('a');
    l.start('b');
    await l.publish(history.slice(0, third), 200);
    await progress(l, 'a and b applying');
    l.start('c'); // joins mid-ingest: a rebalance
    await l.publish(history.slice(third, 2 * third), 200);
    await progress(l, 'applying after c joined');
    await a.stop('SIGKILL'); // leaves without a word: evicted after the session timeout, then a rebalance
    await l.publish(history.slice(2 * third), 200);
    await l.caughtUp();
    const diff = await diffProjection(l.readModel, model, usersOf(history, `${l.id}-`));
    const alive = l.processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null).length;
    report(`rebalance: 3 projectors (1 joined mid-ingest, 1 SIGKILLed), ${n} events, ${diff.lost} lost, ${diff.duplicated} duplicated, ${diff.mismatched} mismatched, ${alive} still running`);
    expect(diff, diff.examples.join('\n')).toMatchObject({ lost: 0, duplicated: 0, mismatched: 0 });
    expect(alive).toBe(2);
  });

  // Stops and restarts a single redis-server of its own: not a Redis Cluster's outage (TEST_REDIS=cluster
  // would only run the single-Redis case again, with the read model's settings pointing at the cluster).
  it.skipIf(onCluster)('redis-outage: the projector waits out a 10 s Redis outage without loss; the API answers 500 envelopes fast and recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-outage-'));
    let redis: LocalProcess = await startRedisServer({ dir });
    const port = redis.port;
    cleanups.push(() => redis.stop());
    const l = await lab({ REDIS_URL: redis.url });
    const apiPort = await freePort();
    const timeoutMs = 500;
    const api = launchService('query-api', ENTRIES.queryApi, {
      ...l.env,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      OPENIM_SECRET: 'outage-secret',
      REDIS_COMMAND_TIMEOUT_MS: String(timeoutMs),
    });
    cleanups.push(() => api.stop('SIGKILL'));
    const n = SMALL ? 6_000 : 20_000;
    const history = generateHistory({ seed: SEED + 2, events: n, groups: Math.round(n / 100), users: Math.round(n / 30), prefix: `${l.id}-` });
    const model = modelOf(history, 128);
    const user = usersOf(history, `${l.id}-`)[0]!;
    const token = openImToken('outage-secret', user);
    const ask = async () => {
      const started = Date.now();
      const res = await fetch(`http://127.0.0.1:${apiPort}/group/get_joined_group_list`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', operationID: uniqueId('op'), token },
        body: JSON.stringify({ fromUserID: user, pagination: { pageNumber: 1, showNumber: 10 } }),
      });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) as { errCode: number; errDlt: string }, text, ms: Date.now() - started };
    };
    await waitFor(async () => (await ask()).body.errCode === 0, { message: 'API up' });
    const projector = l.start();
    await l.publish(history.slice(0, n / 2), 200);
    await progress(l, 'projector applying');

    await redis.stop(); // the outage starts mid-ingest
    const downAt = Date.now();
    const publishing = l.publish(history.slice(n / 2), 200);
    const during: Awaited<ReturnType<typeof ask>>[] = [];
    while (Date.now() - downAt < 10_000) {
      during.push(await ask());
      await sleepMs(100); // pacing the probe requests, not synchronisation
    }
    redis = await startRedisServer({ port, dir });
    const upAt = Date.now();
    await waitFor(async () => (await ask()).body.errCode === 0, { timeoutMs: 5000, intervalMs: 20, message: 'API recovered' });
    const recoveredMs = Date.now() - upAt;
    await publishing;
    await l.caughtUp();
    const diff = await diffProjection(l.readModel, model, usersOf(history, `${l.id}-`));
    const worst = Math.max(...during.map((d) => d.ms));
    report(
      `redis-outage: 10 s down mid-ingest, ${n} events, ${diff.lost} lost, ${diff.duplicated} duplicated; API during outage: ${during.length} answers, ` +
        `${during.filter((d) => d.status === 200 && d.body.errCode === 500).length} errCode-500 envelopes, max ${worst} ms (timeout ${timeoutMs} ms); ` +
        `recovered ${recoveredMs} ms after Redis returned; projector exits: ${projector.child.exitCode === null ? 0 : 1}, API exits: ${api.child.exitCode === null ? 0 : 1}`,
    );
    for (const d of during) {
      expect(d.status).toBe(200);
      expect(d.body).toMatchObject({ errCode: 500, errMsg: 'ServerInternalError', errDlt: '' });
      expect(d.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack
    }
    expect(worst).toBeLessThan(timeoutMs + 1000);
    expect(recoveredMs).toBeLessThan(1000);
    expect(diff, diff.examples.join('\n')).toMatchObject({ lost: 0, duplicated: 0, mismatched: 0 });
    expect(projector.child.exitCode).toBeNull();
    expect(api.child.exitCode).toBeNull();
  });

  it('kafka-unavailable: at start and mid-run the projector retries with backoff, then exits non-zero with a clear error', async () => {
    const closed = await freePort();
    const l = await lab({ KAFKA_RETRIES: '3' });
    const atStart = l.start('at-start', { KAFKA_BROKERS: `127.0.0.1:${closed}` });
    const started = Date.now();
    const code = await Promise.race([atStart.exited, sleepMs(120_000).then(() => 'hung' as const)]);
    const startMs = Date.now() - started;
    expect(code, atStart.output()).toBe(1);
    expect(atStart.output()).toMatch(/projector failed to start|kafka unavailable/);

    // Mid-run: a broker of our own, taken away while the projector consumes.
    const broker = await startMokapi({ topicPool: TOPIC_POOL_SIZE });
    cleanups.push(() => broker.stop());
    const ownEnv = { ...testEnv, kafkaBrokers: [broker.url] };
    const topics = await leaseTopics(ownEnv);
    const mid = l.start('mid-run', { KAFKA_BROKERS: broker.url, EVENTS_TOPIC: topics.events, DLQ_TOPIC: topics.dlq, REDIS_KEY_PREFIX: `${l.id}-mid` });
    const producer = testKafka(ownEnv.kafkaBrokers).producer();
    await producer.connect();
    const g = `${l.id}-g`;
    await producer.send({ topic: topics.events, messages: [{ key: g, value: JSON.stringify(ev.created(g, { userID: `${l.id}-u`, joinTime: 1 })) }] });
    await producer.disconnect();
    const midModel = new ReadModel(l.redis, { root: `${l.id}-mid`, dedupeWindow: 128 });
    await waitFor(async () => (await midModel.readPage(`${l.id}-u`, 0, 10)).total === 1, { message: 'mid-run projector applying' });
    await broker.stop();
    const brokerGone = Date.now();
    const midCode = await Promise.race([mid.exited, sleepMs(180_000).then(() => 'hung' as const)]);
    const midMs = Date.now() - brokerGone;
    await unlinkMatching(l.redis, `${l.id}-mid:*`);
    const reason = (mid.output().match(/"msg":"(kafka unavailable[^"]*)"/) ?? [])[1];
    report(`kafka-unavailable: at start exit ${code} after ${startMs} ms; mid-run exit ${midCode} ${midMs} ms after the broker went (KAFKA_RETRIES=3): "${reason}"`);
    expect(midCode, mid.output()).toBe(1);
    expect(reason).toBeDefined();
  });

  it('poison and odd events: each goes to the DLQ with its reason or is ignored and counted, and the partition keeps flowing', async () => {
    const p: Pipeline = await startPipeline(testEnv, { MAX_EVENT_BYTES: '2048' });
    cleanups.push(() => p.close());
    const [g, dead, owner, stranger] = [uniqueId('g'), uniqueId('dead'), uniqueId('o'), uniqueId('s')];
    await p.publish([
      ev.created(g, { userID: owner, joinTime: 1 }),
      ev.created(dead, { userID: owner, joinTime: 2 }),
      ev.dismissed(dead),
      { key: g, value: 'not json at all' },
      { key: g, value: JSON.stringify({ ...ev.joined(g, [{ userID: stranger, joinTime: 3 }]), occurredAt: 'yesterday' }) },
      { key: g, value: JSON.stringify({ ...ev.joined(g, [{ userID: stranger, joinTime: 3 }]), type: 'member.vanished' }) },
      { key: g, value: JSON.stringify({ ...ev.joined(g, [{ userID: stranger, joinTime: 3 }]), version: 2 }) },
      { key: g, value: JSON.stringify({ ...ev.infoUpdated(g, { introduction: 'x'.repeat(3000) }) }) },
      ev.joined(uniqueId('never-created'), [{ userID: stranger, joinTime: 4 }]),
      ev.joined(dead, [{ userID: stranger, joinTime: 5 }]),
      ev.left(g, [stranger]),
      ev.created(g, { userID: stranger, joinTime: 6 }),
      ev.joined(g, [{ userID: stranger, joinTime: 7 }]), // behind all of it: must apply
    ]);
    await waitFor(async () => (await p.readModel.readPage(stranger, 0, 10)).total === 1, { message: 'the event behind the poison applied' });
    const letters = await p.readDeadLetters(5);
    const kinds = letters.map((x) => x.kind).sort();
    const o = p.projector.stats.outcomes;
    report(
      `poison: dead-lettered ${kinds.join(', ')}; ignored and counted: unknown_group=${o.unknown_group}, group_dismissed=${o.group_dismissed}, ` +
        `not_member=${o.not_member}, group_exists=${o.group_exists}; the partition kept flowing`,
    );
    expect(kinds).toEqual(['invalid_json', 'oversized', 'schema', 'unknown_type', 'unknown_version']);
    expect(letters.find((x) => x.kind === 'oversized')).toMatchObject({ truncated: true, size: expect.any(Number) });
    expect(o).toMatchObject({ unknown_group: 1, group_dismissed: 1, not_member: 1, group_exists: 1 });
  });

  it('shutdown: SIGTERM mid-batch commits nothing unapplied, disconnects and exits 0 within 10 s', async () => {
    const l = await lab({ SHUTDOWN_TIMEOUT_MS: '10000' });
    const n = SMALL ? 6_000 : 20_000;
    const history = generateHistory({ seed: SEED + 3, events: n, groups: Math.round(n / 100), users: Math.round(n / 30), prefix: `${l.id}-` });
    const model = modelOf(history, 128);
    const projector = l.start('projector', { LOG_LEVEL: 'info' });
    const publishing = l.publish(history, 100);
    await progress(l, 'projector applying');
    const stopped = await projector.stop('SIGTERM');
    const appliedAtExit = await l.readModel.checkpoints(1);
    await publishing;
    // What the group committed: a plain consumer in the same group starts there.
    const probe = testKafka(testEnv.kafkaBrokers).consumer({ groupId: l.env.CONSUMER_GROUP!, sessionTimeout: 3000, heartbeatInterval: 300 });
    const firstOffsets = new Map<number, bigint>();
    await probe.connect();
    await probe.subscribe({ topic: l.topics.events, fromBeginning: true });
    await probe.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch }) => {
        if (!firstOffsets.has(batch.partition)) firstOffsets.set(batch.partition, BigInt(batch.firstOffset() ?? '0'));
      },
    });
    await waitFor(() => firstOffsets.size === l.topics.partitions, { message: 'probe saw every partition' });
    await probe.disconnect();
    const unappliedCommitted = [...firstOffsets].filter(([part, first]) => first > BigInt(appliedAtExit[String(part)] ?? '-1') + 1n);
    l.start('after-restart');
    await l.caughtUp();
    const diff = await diffProjection(l.readModel, model, usersOf(history, `${l.id}-`));
    report(
      `shutdown: SIGTERM mid-ingest, exit ${stopped.code} in ${stopped.ms} ms; committed offsets beyond applied: ${unappliedCommitted.length} of ${firstOffsets.size} partitions; ` +
        `after restart ${diff.lost} lost, ${diff.duplicated} duplicated`,
    );
    expect(stopped.code, projector.output()).toBe(0);
    expect(stopped.ms).toBeLessThan(10_000);
    expect(projector.output()).toMatch(/projector stopped/);
    expect(unappliedCommitted).toEqual([]);
    expect(diff, diff.examples.join('\n')).toMatchObject({ lost: 0, duplicated: 0, mismatched: 0 });
  });
});

