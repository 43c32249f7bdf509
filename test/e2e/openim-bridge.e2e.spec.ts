import { freePort } from '@imgroups/devenv';
import { startOpenIMApiStandIn, type OpenIMApiStandIn } from '@imgroups/openim-bridge/testing';
import { leaseTopics, testKafka, uniqueId, waitFor } from '@imgroups/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { differences, QueryApiClient, type Truth } from '../support/answers.js';
import { ENTRIES, launchService, runCommand, type ServiceProcess } from '../support/launch.js';
import { OpenIMSim, type OpenIMRecord } from '../support/openim-sim.js';
import { startServices, type RunningServices } from '../support/services.js';

/**
 * Issue 11 end to end: OpenIM-shaped records on a leased topic standing for
 * OpenIM's `toRedis` -> the bridge -> our events topic -> the projector ->
 * Redis -> the query API, all three started from their main.ts with
 * environment variables only. OpenIM's HTTP API is the test-only stand-in;
 * its state, changed operation by operation as OpenIM would (OpenIMSim), is
 * the truth the HTTP answers must reach.
 */
const testEnv = inject('testEnv');
/** One secret, as in a deployment: OpenIM's share secret signs the tokens our API checks and opens OpenIM's admin token. */
const SECRET = 'e2e-secret';
const ADMIN = 'imAdmin';
/** Small snapshot parts: the 50-member group's backfill comes in three. */
const PART_MEMBERS = '20';

let services: RunningServices;
let bridge: ServiceProcess;
let openim: OpenIMApiStandIn;
let producer: Producer;
let source: { events: string; dlq: string };
let bridgeMetrics: string;
let projectorMetrics: string;

beforeAll(async () => {
  openim = await startOpenIMApiStandIn({ secret: SECRET, adminUserIDs: [ADMIN] });
  source = await leaseTopics(testEnv); // .events stands for toRedis, .dlq is the bridge's dead-letter topic
  const [projectorPort, bridgePort] = [await freePort(), await freePort()];
  projectorMetrics = `http://127.0.0.1:${projectorPort}/metrics`;
  bridgeMetrics = `http://127.0.0.1:${bridgePort}/metrics`;
  services = await startServices(testEnv, {
    OPENIM_SECRET: SECRET,
    ADMIN_USER_IDS: ADMIN,
    PROJECTOR_METRICS_HOST: '127.0.0.1',
    PROJECTOR_METRICS_PORT: String(projectorPort),
  });
  bridge = launchService('openim-bridge', ENTRIES.openimBridge, {
    KAFKA_BROKERS: services.env.KAFKA_BROKERS!,
    EVENTS_TOPIC: services.env.EVENTS_TOPIC!,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    LOG_LEVEL: 'warn',
    OPENIM_KAFKA_BROKERS: testEnv.kafkaBrokers.join(','),
    OPENIM_TOPIC: source.events,
    OPENIM_DLQ_TOPIC: source.dlq,
    OPENIM_CONSUMER_GROUP: uniqueId('e2e-openim-bridge-'),
    OPENIM_FROM_BEGINNING: 'true',
    OPENIM_API_URL: openim.url,
    OPENIM_SECRET: SECRET,
    ADMIN_USER_IDS: ADMIN,
    OPENIM_API_TIMEOUT_MS: '2000',
    OPENIM_BACKOFF_MIN_MS: '50',
    OPENIM_BACKOFF_MAX_MS: '500',
    OPENIM_SNAPSHOT_PART_MEMBERS: PART_MEMBERS,
    OPENIM_BRIDGE_METRICS_HOST: '127.0.0.1',
    OPENIM_BRIDGE_METRICS_PORT: String(bridgePort),
  });
  await waitFor(
    async () => {
      if (bridge.child.exitCode !== null) throw new Error(`the bridge exited:\n${bridge.output()}`);
      return (await fetch(bridgeMetrics)).ok;
    },
    { timeoutMs: 30_000, message: 'bridge metrics served' },
  );
  producer = testKafka(testEnv.kafkaBrokers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  const [bridgeStopped, stopped] = await Promise.all([bridge?.stop(), services?.stop()]);
  await openim?.close();
  // Graceful shutdown is part of the contract, the bridge's too: exit 0, within the 10 s bound.
  if (bridgeStopped) {
    expect(bridgeStopped.code, bridge.output()).toBe(0);
    expect(bridgeStopped.ms).toBeLessThan(10_000);
  }
  if (stopped) {
    expect(stopped, services.output()).toMatchObject({ projector: 0, queryApi: 0 });
    expect(stopped.ms).toBeLessThan(10_000);
  }
});

/** The sum of a Prometheus counter's samples (at `url`) whose labels contain `labels`. */
async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(url)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Records on a topic so far (every partition's high watermark). */
async function recordsOn(topic: string): Promise<number> {
  const admin = testKafka(testEnv.kafkaBrokers).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('OpenIM bridge end to end', () => {
  it('OpenIM notifications, chat, reordering and redelivery through bridge, projector and query API equal OpenIM\'s state after openim:reconcile --api', async () => {
    const sim = new OpenIMSim(openim);
    const api = new QueryApiClient(services.api, SECRET, ADMIN);
    const truth: Truth = { groups: [], users: sim.users };
    const run = uniqueId('oi');
    const u = (i: number) => `${run}u${i}`;
    const users = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => u(from + i));
    const g = { big: `${run}big`, adm: `${run}adm`, gone: `${run}gone`, dis: `${run}dis`, drift: `${run}drift` };
    const chatRound = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        const groups = sim.groupIDs.filter((id) => sim.group(id).info.status !== 2);
        const groupID = groups[i % groups.length]!;
        const members = sim.group(groupID).members;
        const from = members[i % members.length]!.userID;
        // One in five one-to-one: keyed by the two users, not a group session.
        return i % 5 === 4 ? sim.chat(from, { to: u((i * 7) % 50) }, `direct ${i}`) : sim.chat(from, { groupID }, `hello ${i}`);
      });
    /** Notifications in this order, a few chat records between each two. */
    const produce = async (notifications: OpenIMRecord[], chatBetween: number) => {
      const messages = notifications.flatMap((n) => [...chatRound(chatBetween), n]);
      await producer.send({ topic: source.events, acks: -1, messages });
    };
    const converge = async (what: string, timeoutMs = 30_000) => {
      truth.groups = sim.groupIDs.map((id) => sim.group(id));
      let last: string[] = [];
      try {
        await waitFor(async () => (last = await differences(api, truth)).length === 0, { timeoutMs, intervalMs: 250, message: what });
      } catch (err) {
        const logs = `[openim-bridge]\n${bridge.output().slice(-4000)}\n${services.output().slice(-4000)}`;
        throw new Error(`${(err as Error).message}; ${last.length} mismatches:\n${last.slice(0, 40).join('\n')}\n${logs}`);
      }
    };

    // 1. Groups created. The owner's 1501 names the owner alone; the members come from OpenIM's API (backfill).
    const created = {
      big: sim.create(g.big, { owner: u(0), members: users(1, 49), name: 'Big' }),
      adm: sim.create(g.adm, { owner: u(10), members: users(20, 27), name: 'Made by an app admin', byAppAdmin: ADMIN }),
      gone: sim.create(g.gone, { owner: u(1), members: [u(2), u(3), ...users(30, 35)], name: 'Dismissed with 1511' }),
      dis: sim.create(g.dis, { owner: u(2), members: users(4, 12), name: 'Dismissed silently' }),
      drift: sim.create(g.drift, { owner: u(3), members: users(13, 19), name: 'Drifts' }),
    };
    await produce(Object.values(created), 20);
    expect(sim.group(g.big).members).toHaveLength(50);
    await converge('created groups with their members from the backfill', 45_000);

    // 2. Their life. Same partition per group, in this order unless swapped:
    // a late older version must lose, a copy of a record must change nothing.
    const big = {
      enterA: sim.enter(g.big, u(50)),
      invite: sim.invite(g.big, u(0), [u(51), u(52)]),
      quit: sim.quit(g.big, u(5)),
      kick: sim.kick(g.big, u(0), [u(6), u(7)]),
      admin8: sim.setRole(g.big, u(0), u(8), 60),
      info: sim.setInfo(g.big, u(0), { groupName: 'Big: renamed', notification: 'welcome', introduction: 'about us', faceURL: 'https://example.com/big.png', ex: '{"tier":1}' }),
      transfer: sim.transferOwner(g.big, u(8)),
      mute: sim.mute(g.big, u(8), true),
      unmute: sim.mute(g.big, u(8), false),
      muteMember: sim.muteMember(g.big, u(8), u(9), 600),
      admin10: sim.setRole(g.big, u(8), u(10), 60),
      ordinary10: sim.setRole(g.big, u(8), u(10), 20),
      olderInfo: sim.setInfo(g.big, u(8), { groupName: 'Big: older name', introduction: 'older' }),
      newerName: sim.setName(g.big, u(8), 'Big: final name'),
      enterD: sim.enter(g.big, u(53)),
      quitD: sim.quit(g.big, u(53)),
      kick11: sim.kick(g.big, u(8), [u(11)]),
      rejoin11: sim.enter(g.big, u(11)),
    };
    const adm = [sim.invite(g.adm, u(10), [u(50)]), sim.setRole(g.adm, u(10), u(20), 60), sim.setNickname(g.adm, u(21), 'nick'), sim.mute(g.adm, u(10), true)];
    const goneJoin = sim.enter(g.gone, u(36));
    const goneDismissed = sim.dismiss(g.gone, u(1));
    const disJoin = sim.enter(g.dis, u(54));
    const drift = [sim.kick(g.drift, u(3), [u(13)]), sim.setInfo(g.drift, u(3), { introduction: 'drifting' })];
    await produce(
      [
        big.enterA, big.invite, big.quit, big.kick, big.admin8, big.info, big.transfer,
        big.unmute, big.mute, // status: the newer version first
        big.muteMember,
        big.ordinary10, big.admin10, // a role: the newer version first
        big.newerName, big.olderInfo, // the info: the newer version first
        big.quitD, big.enterD, // a membership: the leave before the join it follows
        big.kick11, big.rejoin11,
        // Copies: a join, a kick after the kicked user rejoined, and the 1501 (a second backfill, same event IDs).
        sim.again(big.enterA), sim.again(big.kick11), sim.again(big.kick), sim.again(created.big),
        ...adm,
        goneJoin, goneDismissed, sim.again(goneDismissed),
        disJoin, ...drift,
      ],
      6,
    );
    await converge('every notification applied: the late older versions and the copies changed nothing');
    // The copies change nothing visible, so wait for the bridge itself: every
    // record read, and the last backfill (the 1501's copy) published. Its
    // snapshots: three parts for each read of the big group, one for every other group.
    const recordsMade = sim.notifications + sim.chats;
    const snapshots = 2 * 3 + 4;
    await waitFor(
      async () =>
        (await metric(bridgeMetrics, 'openim_bridge_notifications_read_total')) === recordsMade &&
        (await metric(bridgeMetrics, 'openim_bridge_events_produced_total', 'type="group.snapshot"')) === snapshots,
      { message: `the bridge read all ${recordsMade} records and published ${snapshots} snapshot parts` },
    );

    // 3. What OpenIM never announces: a dismissal with deleteMember=true, and
    // a join and a leave whose notifications were lost.
    sim.dismissDeletingMembers(g.dis);
    sim.addSilently(g.drift, u(55));
    sim.removeSilently(g.drift, u(14));
    truth.groups = sim.groupIDs.map((id) => sim.group(id));
    const before = await differences(api, truth);
    expect(before.length, 'before the reconciliation our answers still differ').toBeGreaterThan(0);
    const ownersList = await api.joinedGroups(u(2));
    expect(ownersList.groups.map((x) => x.groupID), 'the silently dismissed group still listed').toContain(g.dis);
    const disInfo = await api.call('/group/get_groups_info', { groupIDs: [g.dis] });
    expect(disInfo.data?.groupInfos).toEqual([expect.objectContaining({ groupID: g.dis, status: 0, memberCount: 11 })]);

    // 4. The reconciliation finds them in OpenIM's API and publishes the fixes.
    const reconcile = await runCommand(ENTRIES.openimCli, ['reconcile', '--api', '--settle-ms', '200'], {
      ...services.env,
      OPENIM_API_URL: openim.url,
      OPENIM_SECRET: SECRET,
      ADMIN_USER_IDS: ADMIN,
      OPENIM_SNAPSHOT_PART_MEMBERS: PART_MEMBERS,
    });
    expect(reconcile.code, reconcile.output).toBe(0);
    expect(reconcile.output).toContain(`${g.dis}: dismissed_without_notification`);
    expect(reconcile.output).toContain(`${g.drift}: members: left in OpenIM: ${u(14)}; joined in OpenIM: ${u(55)}`);
    expect(reconcile.output).toContain('fixed:     1 dismissed (group.dismissed), 1 re-sent whole (group.snapshot)');

    await converge('every answer equal to OpenIM\'s state after the reconciliation');
    const mismatches = await differences(api, truth);
    expect(mismatches).toEqual([]);

    // Nothing dead-lettered on the way: not by the bridge, not by the projector.
    expect(await recordsOn(source.dlq), 'bridge dead letters').toBe(0);
    expect(await metric(bridgeMetrics, 'openim_bridge_dead_letters_total')).toBe(0);
    expect(await recordsOn(services.env.DLQ_TOPIC!), 'projector dead letters').toBe(0);
    // Each of the four late older versions reached the projection with its seq and lost there.
    expect(await metric(projectorMetrics, 'projector_events_total', 'outcome="stale_seq"')).toBe(4);
    // The bridge ignored the chat (group sessions as chat, one-to-one as not_group) and mapped the rest.
    const ignored = (reason: string) => metric(bridgeMetrics, 'openim_bridge_notifications_ignored_total', `reason="${reason}"`);
    expect((await ignored('chat')) + (await ignored('not_group'))).toBe(sim.chats);

    console.log(`openim-bridge: ${sim.notifications} notifications (${sim.chats} chat ignored), ${sim.groupIDs.length} groups, ${mismatches.length} mismatches after reconcile`);
  });
});
