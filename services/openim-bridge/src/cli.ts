import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@imgroups/config';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { importExport, type ImportSummary } from './import.js';
import { chatRecord, goGroupInfo, goMember, goVersion, notificationRecord } from './openim-traffic.js';
import { createEventPublisher } from './publisher.js';

/**
 * Operator commands beside the bridge (root package.json):
 *   pnpm openim:import <dir> [--passes N] [--dry-run]
 *   pnpm openim:reconcile (--export <dir> | --api) [--dry-run] [--settle-ms N]
 *   pnpm openim:sample [--members N] [--chat N]   OpenIM-shaped records on OPENIM_TOPIC, for a local try
 * Configuration as the services read it (KAFKA_BROKERS, EVENTS_TOPIC, OPENIM_*).
 */

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(argv: string[]) {
  const [command, ...rest] = argv;
  const config = loadConfigOrExit(process.env, `openim ${command ?? ''}`.trim());
  if (command === 'import') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { passes: { type: 'string', default: '1' }, 'dry-run': { type: 'boolean', default: false } },
    });
    const dir = positionals[0];
    if (!dir) throw new UsageError('openim:import <dir>: the directory with group.json, group_member.json [, group_member_version.json]');
    const passes = Number(values.passes);
    if (!Number.isInteger(passes) || passes < 1) throw new UsageError('--passes must be a positive integer');
    const dryRun = values['dry-run'];
    const kafka = new Kafka({ clientId: `${config.KAFKA_CLIENT_ID}-openim-import`, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN });
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    if (!dryRun) await producer.connect();
    try {
      const publisher = createEventPublisher(producer, config.EVENTS_TOPIC);
      console.log(`openim:import: ${dir} -> ${dryRun ? '(dry run, nothing published)' : `${config.EVENTS_TOPIC} on ${config.KAFKA_BROKERS.join(',')}`}`);
      const summary = await importExport({
        dir,
        passes,
        partMembers: config.OPENIM_SNAPSHOT_PART_MEMBERS,
        maxBytes: config.MAX_EVENT_BYTES,
        publish: dryRun ? async () => {} : (events) => publisher.publish(events),
        onProgress: (p) =>
          console.log(
            `openim:import: ${fmt(p.groups)} groups, ${fmt(p.members)} members, ${fmt(p.events)} events ` +
              `(${fmt(p.groups / p.seconds)} groups/s, ${fmt(p.members / p.seconds)} members/s)`,
          ),
      });
      if (!dryRun) await publisher.flush();
      printImportSummary(summary, dryRun);
    } finally {
      if (!dryRun) await producer.disconnect();
    }
    return;
  }
  if (command === 'sample') {
    const { values } = parseArgs({ args: rest, options: { members: { type: 'string', default: '5' }, chat: { type: 'string', default: '20' } } });
    await publishSample(config, Number(values.members), Number(values.chat));
    return;
  }
  if (command === 'reconcile') {
    const { runReconcile } = await import('./reconcile-cli.js');
    await runReconcile(config, rest);
    return;
  }
  throw new UsageError('usage: openim-bridge <import|reconcile> ...');
}

/**
 * A group's life as OpenIM would write it to toRedis: created (1501, the
 * owner only, as upstream), members invited (1509), renamed (1520), chat in
 * between. For `pnpm start:openim`: the pages change without an OpenIM.
 */
async function publishSample(config: ReturnType<typeof loadConfigOrExit>, members: number, chats: number) {
  const kafka = new Kafka({ clientId: `${config.KAFKA_CLIENT_ID}-openim-sample`, brokers: config.OPENIM_KAFKA_BROKERS, logLevel: logLevel.WARN });
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const t = Date.now();
    const groupID = String(t).slice(-10);
    const owner = 'sample-owner';
    const group = (over: Record<string, unknown> = {}) => goGroupInfo({ groupID, groupName: 'Sample group', ownerUserID: owner, creatorUserID: owner, createTime: t, memberCount: 1 + members, ...over });
    const op = goMember({ groupID, userID: owner, roleLevel: 100, joinTime: t });
    const invited = Array.from({ length: members }, (_, i) => goMember({ groupID, userID: `sample-user-${i + 1}`, roleLevel: 20, joinTime: t + 1, joinSource: 2, inviterUserID: owner }));
    const messages = [
      notificationRecord({ groupID, contentType: 1501, sendID: owner, sendTime: t, tips: { group: group(), opUser: op, memberList: [op], operationTime: t, groupOwnerUser: op, ...goVersion(1) } }),
      ...Array.from({ length: Math.floor(chats / 2) }, (_, i) => chatRecord({ from: owner, groupID, text: `hello ${i}`, sendTime: t + i })),
      notificationRecord({ groupID, contentType: 1509, sendID: owner, sendTime: t + 1, tips: { group: group(), opUser: op, invitedUserList: invited, operationTime: 0, inviterUser: op, ...goVersion(2) } }),
      ...Array.from({ length: Math.ceil(chats / 2) }, (_, i) => chatRecord({ from: 'sample-user-1', to: owner, text: `direct ${i}`, sendTime: t + i })),
      notificationRecord({ groupID, contentType: 1520, sendID: owner, sendTime: t + 2, tips: { opUser: op, group: group({ groupName: 'Sample group (renamed)' }), ...goVersion(3) } }),
    ];
    await producer.send({ topic: config.OPENIM_TOPIC, acks: -1, messages });
    console.log(
      `openim:sample: ${messages.length} records on ${config.OPENIM_TOPIC}: group ${groupID} created by ${owner}, ` +
        `${members} members invited (sample-user-1..${members}), renamed, ${chats} chat messages.\n` +
        `  The bridge maps 3 notifications and ignores the chat; then sample-user-1's list shows the group (README "Running beside OpenIM").`,
    );
  } finally {
    await producer.disconnect();
  }
}

function printImportSummary(s: ImportSummary, dryRun: boolean) {
  const skipped = Object.entries(s.skipped);
  console.log(
    [
      `openim:import: done in ${s.seconds.toFixed(1)} s${dryRun ? ' (dry run)' : ''}`,
      `  groups published:  ${fmt(s.groups)} (${fmt(s.dismissed)} dismissed, ${fmt(s.multiPart)} in several parts)`,
      `  members:           ${fmt(s.members)}`,
      `  events:            ${fmt(s.events)} group.snapshot`,
      `  with seq:          ${fmt(s.withSeq)} of ${fmt(s.groups)} (the group's member version${s.withSeq === 0 ? '; no group_member_version.json given' : ''})`,
      `  rate:              ${fmt(s.groups / Math.max(s.seconds, 0.001))} groups/s, ${fmt(s.members / Math.max(s.seconds, 0.001))} members/s`,
      `  skipped:           ${skipped.length === 0 ? 'nothing' : skipped.map(([r, n]) => `${r} ${fmt(n)}`).join(', ')}`,
      ...s.examples.map((e) => `    e.g. ${e}`),
    ].join('\n'),
  );
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err instanceof UsageError ? err.message : `openim: ${err.stack ?? err.message}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
