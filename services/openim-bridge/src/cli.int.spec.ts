import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeEvent, type GroupEvent } from '@imgroups/contracts';
import { ReadModel, type RedisClient } from '@imgroups/read-model';
import { testRedis } from '@imgroups/read-model/test-redis';
import { leaseTopics, redisVars, testKafka, uniqueId, waitFor } from '@imgroups/testing';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { standInGroup, startOpenIMApiStandIn, type OpenIMApiStandIn } from './testing/openim-api-stand-in.js';

/**
 * The operator commands as an operator runs them (`pnpm openim:import`,
 * `pnpm openim:reconcile`: tsx on cli.ts), against the suite's broker and
 * Redis, and the stand-in of OpenIM's API.
 */

const env = inject('testEnv');
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const SECRET = 'cli-test-secret';

function run(args: string[], vars: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', CLI, ...args],
      { env: { ...process.env, ...vars }, timeout: 60_000 },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

async function readAll(topic: string, n: number): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  const consumer = testKafka(env.kafkaBrokers).consumer({ groupId: uniqueId('reader-'), sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
    await waitFor(() => got.length >= n, { timeoutMs: 60_000, message: `${n} events on ${topic} (have ${got.length})` });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

const iso = (ms: number) => new Date(ms).toISOString();
const lines = (docs: unknown[]) => `${docs.map((d) => JSON.stringify(d)).join('\n')}\n`;
const T = Date.UTC(2024, 4, 1);

let topics: { events: string };
let vars: Record<string, string>;
let redis: RedisClient;
let api: OpenIMApiStandIn;
beforeAll(async () => {
  topics = await leaseTopics(env);
  api = await startOpenIMApiStandIn({ secret: SECRET, adminUserIDs: ['imAdmin'] });
  redis = testRedis(env);
  vars = {
    KAFKA_BROKERS: env.kafkaBrokers.join(','),
    ...redisVars(env),
    REDIS_KEY_PREFIX: uniqueId('cli'),
    EVENTS_TOPIC: topics.events,
    OPENIM_SNAPSHOT_PART_MEMBERS: '25',
    OPENIM_API_URL: api.url,
    OPENIM_SECRET: SECRET,
    ADMIN_USER_IDS: 'imAdmin',
    LOG_LEVEL: 'warn',
  };
});
afterAll(async () => {
  await api.close();
  redis.disconnect();
});

describe('openim operator commands', () => {
  it('openim:import publishes one snapshot per group, in parts when large, with progress and a summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openim-export-'));
    const big = uniqueId('gbig');
    const gone = uniqueId('ggone');
    writeFileSync(
      join(dir, 'group.json'),
      lines([
        { _id: { $oid: '6650a1b2c3d4e5f601234567' }, group_id: big, group_name: 'Big', create_time: { $date: iso(T) }, status: 0, creator_user_id: `${big}-0`, group_type: 2, need_verification: 0, look_member_info: 0, apply_member_friend: 0, notification_update_time: { $date: { $numberLong: '-62135596800000' } } },
        { _id: { $oid: '6650a1b2c3d4e5f601234568' }, group_id: gone, group_name: 'Gone', create_time: { $date: iso(T) }, status: 2, creator_user_id: `${gone}-0`, group_type: 2 },
      ]),
    );
    const members = [
      ...Array.from({ length: 60 }, (_, i) => ({ group_id: big, user_id: `${big}-${i}`, role_level: i === 0 ? 100 : 20, join_time: { $date: iso(T + i) }, join_source: 2, inviter_user_id: '' })),
      { group_id: gone, user_id: `${gone}-0`, role_level: 100, join_time: { $date: iso(T) } },
    ];
    writeFileSync(join(dir, 'group_member.json'), lines(members));
    writeFileSync(join(dir, 'group_member_version.json'), lines([{ _id: { $oid: '6650a1b2c3d4e5f60123456a' }, d_id: big, version: 61, logs: [] }]));

    const { code, out } = await run(['import', dir], vars);
    expect(code, out).toBe(0);
    expect(out).toContain('groups published:  2 (1 dismissed, 1 in several parts)');
    expect(out).toContain('members:           61');
    expect(out).toContain('with seq:          1 of 2');

    const events = (await readAll(topics.events, 4)).map((m) => ({ key: m.key!.toString(), ...JSON.parse(m.value!.toString()) }));
    const bigParts = events.filter((e) => e.key === big);
    expect(bigParts.map((e) => [e.data.part, e.data.parts, e.seq])).toEqual([[1, 3, 61], [2, 3, 61], [3, 3, 61]]);
    expect(bigParts.flatMap((e) => e.data.members)).toHaveLength(60);
    expect(bigParts[0].data.group).toMatchObject({ groupID: big, ownerUserID: `${big}-0`, createTime: T, notificationUpdateTime: 0 });
    expect(events.find((e) => e.key === gone)).toMatchObject({ type: 'group.snapshot', data: { group: { status: 2 } } });
  });

  it('openim:reconcile --api finds a dismissal without notification and lost joins, and publishes the fixes', async () => {
    const prefix = uniqueId('rec');
    const model = new ReadModel(redis, { root: prefix, dedupeWindow: 16 });
    await model.generations.ensureActive();
    const dismissed = uniqueId('gd');
    const drifted = uniqueId('gx');
    const fine = uniqueId('gf');
    const createdEvent = (groupID: string, n: number): GroupEvent => {
      const decoded = decodeEvent(
        JSON.stringify({
          eventID: uniqueId('e'), type: 'group.created', version: 1, groupID, occurredAt: T,
          data: {
            group: { groupID, groupName: `group ${groupID}`, ownerUserID: `${groupID}-owner`, createTime: T, creatorUserID: `${groupID}-owner` },
            members: Array.from({ length: n }, (_, i) => ({ userID: i === 0 ? `${groupID}-owner` : `${groupID}-m${i}`, roleLevel: i === 0 ? 100 : 20, joinTime: T })),
          },
        }),
      );
      if (!decoded.ok) throw new Error(decoded.reason);
      return decoded.event;
    };
    await model.apply(null, 0, [dismissed, drifted, fine].map((g, i) => ({ offset: String(i), event: createdEvent(g, 3) })));

    // OpenIM: one group dismissed with deleteMember=true (no notification, no members, status 2), one with two more members.
    api.groups.set(dismissed, { ...standInGroup(dismissed, 0, { createTime: T, version: 0 }), info: { ...standInGroup(dismissed, 3, { createTime: T }).info, status: 2 } });
    api.groups.set(drifted, standInGroup(drifted, 5, { createTime: T, version: 9 }));
    api.groups.set(fine, standInGroup(fine, 3, { createTime: T }));

    const recTopics = await leaseTopics(env);
    const { code, out } = await run(['reconcile', '--api', '--settle-ms', '0'], { ...vars, REDIS_KEY_PREFIX: prefix, EVENTS_TOPIC: recTopics.events });
    expect(code, out).toBe(0);
    expect(out).toContain(`${dismissed}: dismissed_without_notification`);
    expect(out).toContain(`${drifted}: members: joined in OpenIM: ${drifted}-m3, ${drifted}-m4`);
    expect(out).toContain('3 groups checked');
    expect(out).toContain('fixed:     1 dismissed (group.dismissed), 1 re-sent whole (group.snapshot)');

    const fixes = (await readAll(recTopics.events, 2)).map((m) => JSON.parse(m.value!.toString()));
    expect(fixes.find((e) => e.groupID === dismissed)).toMatchObject({ type: 'group.dismissed', version: 1 });
    expect(fixes.find((e) => e.groupID === drifted)).toMatchObject({ type: 'group.snapshot', seq: 9 });
    expect(fixes.find((e) => e.groupID === drifted).data.members).toHaveLength(5);
  });
});
