import { loadConfig, type Config } from '@imgroups/config';
import { highWatermarks } from '@imgroups/ops';
import { acquireRebuildLock, Generations, ReadModel, type RedisClient } from '@imgroups/read-model';
import { diffProjection, modelOf } from '@imgroups/read-model/test-helpers';
import { keysMatching, testRedis, unlinkMatching } from '@imgroups/read-model/test-redis';
import { generateHistory, isolatedSettings, testKafka, type RawGroupEvent } from '@imgroups/testing';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { RebuildRefusedError, runRebuild, type RebuildDeps } from './rebuild.js';
import { runVerify } from './verify.js';

/**
 * The rebuild and verify commands in-process, against the suite's broker and
 * Redis: resume, --fresh, the lock, dead letters not re-sent, verify finding
 * a damaged generation. Each test leases its own topics, consumer groups and
 * key root. No live projector runs here (the e2e suite has one): the active
 * generation is whatever the test makes it.
 */

const env = inject('testEnv');
const USERS = 40;

interface Lab {
  config: Config;
  redis: RedisClient;
  kafka: Kafka;
  producer: Producer;
  gens: Generations;
  readModel: ReadModel;
  deps: RebuildDeps;
  users: (prefix: string) => string[];
  history: (seed: number, events: number) => { prefix: string; events: RawGroupEvent[] };
  publish(events: (RawGroupEvent | { key: string; value: string })[]): Promise<void>;
  keyCount(gen: number | string): Promise<number>;
  close(): Promise<void>;
}

const labs: Lab[] = [];
afterEach(async () => {
  for (const lab of labs.splice(0)) await lab.close();
});

async function lab(): Promise<Lab> {
  const { id, vars } = await isolatedSettings(env, 'rb');
  const config = loadConfig(vars);
  const redis = testRedis(config);
  const kafka = testKafka(env.kafkaBrokers);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const keyCount = async (gen: number | string) => (await keysMatching(redis, `${id}:${gen}:*`)).length;
  const l: Lab = {
    config,
    redis,
    kafka,
    producer,
    gens: new Generations(redis, id),
    readModel: new ReadModel(redis, { root: id, dedupeWindow: config.DEDUPE_WINDOW }),
    deps: { config, redis, kafka, logger: pino({ level: 'warn' }), lockTtlMs: 10_000 },
    users: (prefix) => Array.from({ length: USERS }, (_, i) => `${prefix}u${i}`),
    history: (seed, events) => {
      const prefix = `${id}s${seed}-`;
      return { prefix, events: generateHistory({ seed, events, groups: 50, users: USERS, prefix }) };
    },
    async publish(events) {
      for (let i = 0; i < events.length; i += 1000) {
        await producer.send({
          topic: config.EVENTS_TOPIC,
          acks: -1,
          messages: events.slice(i, i + 1000).map((e) => ('eventID' in e ? { key: e.groupID, value: JSON.stringify(e) } : e)),
        });
      }
    },
    keyCount,
    async close() {
      await producer.disconnect();
      await unlinkMatching(redis, `${id}:*`);
      redis.disconnect();
    },
  };
  labs.push(l);
  return l;
}

async function expectModel(l: Lab, events: RawGroupEvent[], prefixes: string[]) {
  const diff = await diffProjection(l.readModel, modelOf(events, l.config.DEDUPE_WINDOW), prefixes.flatMap((p) => l.users(p)));
  expect(diff.examples).toEqual([]);
  expect(diff.memberships).toBeGreaterThan(50);
}

describe('rebuild', () => {
  it('stopped before its switch, resumes under the same generation and consumer group with only the rest to replay, then switches and deletes the old generation', { timeout: 90_000 }, async () => {
    const l = await lab();
    const first = l.history(1, 3000);
    const poison = { key: `${first.prefix}g1`, value: '{not json' };
    await l.publish([...first.events.slice(0, 1500), poison, ...first.events.slice(1500)]);

    const r1 = await runRebuild(l.deps, { switch: false });
    expect(r1).toMatchObject({ outcome: 'caught_up', generation: 2, previous: 1, resumed: false, messages: 3001, deadLetters: 1, targetMessages: 3001 });
    expect(await l.gens.active()).toBe(1);
    expect(await l.gens.rebuildRecord()).toMatchObject({ generation: 2, status: 'running', consumerGroup: r1.consumerGroup });

    const second = l.history(2, 500);
    await l.publish(second.events);
    const r2 = await runRebuild(l.deps);
    expect(r2).toMatchObject({ outcome: 'switched', generation: 2, previous: 1, resumed: true, consumerGroup: r1.consumerGroup });
    // Continued from its committed offsets: the second part, not the whole stream again.
    expect(r2.messages).toBeGreaterThanOrEqual(500);
    expect(r2.messages).toBeLessThan(1500);
    expect(r2.switchMs).toBeGreaterThanOrEqual(0);

    expect(await l.gens.active()).toBe(2);
    await expectModel(l, [...first.events, ...second.events], [first.prefix, second.prefix]);
    expect(await l.keyCount(1)).toBe(0);
    expect(await l.gens.retired()).toEqual([]);
    expect(await l.gens.rebuildRecord()).toMatchObject({ generation: 2, status: 'done', previous: 1 });
    // The poison message was counted, not dead-lettered again.
    const admin = l.kafka.admin();
    await admin.connect();
    expect([...(await highWatermarks(admin, l.config.DLQ_TOPIC)).values()]).toEqual([0]);
    await admin.disconnect();
  });

  it('--fresh starts over from offset 0 under a new generation and consumer group, and deletes the unfinished one', { timeout: 90_000 }, async () => {
    const l = await lab();
    const h = l.history(3, 1500);
    await l.publish(h.events);
    const r1 = await runRebuild(l.deps, { switch: false });
    expect(r1).toMatchObject({ outcome: 'caught_up', generation: 2 });
    expect(await l.keyCount(2)).toBeGreaterThan(0);

    const r2 = await runRebuild(l.deps, { fresh: true });
    expect(r2).toMatchObject({ outcome: 'switched', generation: 3, previous: 1, resumed: false, messages: 1500 });
    expect(r2.consumerGroup).not.toBe(r1.consumerGroup);
    expect(await l.gens.active()).toBe(3);
    expect(await l.keyCount(2)).toBe(0);
    expect(await l.gens.retired()).toEqual([]);
    await expectModel(l, h.events, [h.prefix]);
  });

  it('is refused while another rebuild holds the lock, naming the holder, and changes nothing', async () => {
    const l = await lab();
    const other = await acquireRebuildLock(l.redis, l.config.REDIS_KEY_PREFIX, {
      token: 'other',
      host: 'build-host-7',
      pid: 31337,
      startedAt: Date.parse('2026-01-02T03:04:05Z'),
    });
    expect(other.ok).toBe(true);
    const refused = runRebuild(l.deps);
    await expect(refused).rejects.toBeInstanceOf(RebuildRefusedError);
    await expect(refused).rejects.toThrow(
      /another rebuild is running \(build-host-7 pid 31337, running since 2026-01-02T03:04:05.000Z\); refusing to start a second one/,
    );
    expect(await l.gens.rebuildRecord()).toBeNull();
    if (other.ok) await other.lock.release();
  });
});

describe('verify', () => {
  it('agrees with an intact generation and names the user and group a damaged one lost', { timeout: 90_000 }, async () => {
    const l = await lab();
    const h = l.history(4, 2000);
    await l.publish(h.events);
    await runRebuild(l.deps);
    const active = (await l.gens.active())!;

    const ok = await runVerify(l.deps);
    expect(ok).toMatchObject({ equal: true, generation: active, mismatchCount: 0 });
    expect(ok.users).toBeGreaterThan(USERS / 2);

    // Lost data: a user's membership and a group's card.
    const user = l.users(h.prefix).find((u) => u.endsWith('u3'))!;
    const [groupID] = await l.redis.zrange(l.readModel.keys.entity('userJoined', active, user), 0, 0);
    await l.redis.zrem(l.readModel.keys.entity('userJoined', active, user), groupID!);
    const other = (await l.redis.zrange(l.readModel.keys.entity('userJoined', active, l.users(h.prefix)[5]!), 0, 0))[0]!;
    const cardKey = l.readModel.keys.entity('groupCard', active, other);
    await l.redis.set(cardKey, (await l.redis.get(cardKey))!.replace(/"groupName":"[^"]*"/, '"groupName":"LOST"'));

    const bad = await runVerify(l.deps);
    expect(bad.equal).toBe(false);
    expect(bad.mismatchCount).toBe(2);
    expect(bad.mismatches.join('\n')).toContain(`user ${user}: joined list differs`);
    expect(bad.mismatches.join('\n')).toContain(`missing from active: ${groupID}`);
    expect(bad.mismatches.join('\n')).toMatch(new RegExp(`group ${other}: card differs: groupName active "LOST" vs replay`));
    // The scratch replay is gone.
    expect(await l.keyCount(bad.scratch)).toBe(0);
    expect(await l.gens.retired()).toEqual([]);
  });
});
