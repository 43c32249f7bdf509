import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '@imgroups/config';
import type { GroupEvent } from '@imgroups/contracts';
import { connectRedis } from '@imgroups/read-model';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { pino } from 'pino';
import { createBackfill } from './backfill.js';
import { EXPORT_FILES, exportSnapshot, readExportGroups, type ExportState } from './import.js';
import { OpenIMApi } from './openim-api.js';
import { createEventPublisher } from './publisher.js';
import { compareGroup, dismissal, OurSide, roleMap, type Finding, type TheirGroup } from './reconcile.js';

/**
 * `pnpm openim:reconcile --api | --export <dir> [--dry-run] [--settle-ms N] [--deep]`
 *
 * Safe while live traffic flows: a difference is acted on only if a second
 * look, `--settle-ms` later, still shows it (a change in flight through the
 * bridge and the projector settles in the meantime); fixes are events on our
 * topic, ordered with the live ones by the projection's rules (`seq` for
 * snapshots; a dismissal is final on both sides).
 */
export async function runReconcile(config: Config, args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      api: { type: 'boolean', default: false },
      export: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'settle-ms': { type: 'string', default: '5000' },
      deep: { type: 'boolean', default: false },
    },
  });
  if (values.api === Boolean(values.export)) throw new Error('openim:reconcile: give exactly one of --api or --export <dir>');
  const settleMs = Number(values['settle-ms']);
  const dryRun = values['dry-run'];
  const runID = randomBytes(4).toString('hex');
  const now = Date.now();
  const redis = connectRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES }, { maxRetriesPerRequest: 3 });
  const ours = new OurSide(redis, config.REDIS_KEY_PREFIX);
  const kafka = new Kafka({ clientId: `${config.KAFKA_CLIENT_ID}-openim-reconcile`, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN });
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const publisher = createEventPublisher(producer, config.EVENTS_TOPIC);
  const skipped: Record<string, number> = {};
  let checked = 0;

  /** groupID -> how OpenIM's side is re-read for the second look and the fix. */
  const candidates = new Map<string, { findings: Finding[]; theirs: () => Promise<TheirGroup>; fix: () => Promise<GroupEvent[]> }>();

  try {
    if (!dryRun) await producer.connect();
    if (values.api) {
      if (!config.OPENIM_API_URL) throw new Error('openim:reconcile --api needs OPENIM_API_URL');
      const api = new OpenIMApi({ baseUrl: config.OPENIM_API_URL, secret: config.OPENIM_SECRET, adminUserID: config.ADMIN_USER_IDS[0]!, timeoutMs: config.OPENIM_API_TIMEOUT_MS });
      const backfill = createBackfill({ api, config, logger: pino({ level: 'warn' }) });
      const theirsOf = async (groupID: string, info?: TheirGroup['info'] | null): Promise<TheirGroup> => {
        const i = info === null ? (await api.getGroupsInfo([groupID])).find((g) => g.groupID === groupID) : info;
        if (!i || i.status === 2) return { info: i, members: new Map() };
        const members = values.deep
          ? roleMap(await api.getAllMembers(groupID))
          : new Map((await api.getFullGroupMemberUserIDs(groupID)).userIDs.map((id) => [id, -1]));
        return { info: i, members };
      };
      for await (const ids of ours.groupIDs()) {
        for (let i = 0; i < ids.length; i += 100) {
          const batch = ids.slice(i, i + 100);
          const [mine, infos] = await Promise.all([ours.groups(batch), api.getGroupsInfo(batch)]);
          const byID = new Map(infos.map((g) => [g.groupID, g]));
          for (const id of batch) {
            checked++;
            const my = mine.get(id);
            if (!my || my.status === 2) continue;
            const findings = compareGroup(my, await theirsOf(id, byID.get(id)), id);
            if (findings.length) {
              candidates.set(id, {
                findings,
                theirs: () => theirsOf(id, null),
                fix: () => backfill({ groupID: id, notificationSeq: undefined, notificationVersionID: '', eventIDBase: `openim-reconcile:${id}:${runID}`, occurredAt: now, operatorUserID: '' }),
              });
            }
          }
        }
      }
    } else {
      const dir = values.export!;
      if (!existsSync(join(dir, EXPORT_FILES.versions))) {
        console.log(`openim:reconcile: WARNING no ${EXPORT_FILES.versions}: snapshots carry no seq, so one may undo a change made after the export. Export the versions too.`);
      }
      const known = new Set<string>();
      for await (const ids of ours.groupIDs()) for (const id of ids) known.add(id);
      let horizon = 0;
      let chunk: [string, ExportState][] = [];
      const compareChunk = async () => {
        const mine = await ours.groups(chunk.map(([id]) => id));
        for (const [id, state] of chunk) {
          checked++;
          const theirs = exportSide(state);
          const findings = compareGroup(mine.get(id), theirs, id);
          if (findings.length) {
            candidates.set(id, {
              findings,
              theirs: async () => theirs,
              fix: async () => {
                const made = exportSnapshot(id, state, { partMembers: config.OPENIM_SNAPSHOT_PART_MEMBERS, maxBytes: config.MAX_EVENT_BYTES, occurredAt: now, idPrefix: `openim-reconcile-${runID}` });
                return made.ok ? made.events : [];
              },
            });
          }
        }
        chunk = [];
      };
      await readExportGroups({
        dir,
        onGroup: async (id, state) => {
          known.delete(id);
          horizon = Math.max(horizon, state.info.createTime);
          chunk.push([id, state]);
          if (chunk.length >= 200) await compareChunk();
        },
      });
      await compareChunk();
      // Groups we know that the export does not: deleted in OpenIM, unless created after the export was taken.
      const rest = [...known];
      for (let i = 0; i < rest.length; i += 200) {
        const mine = await ours.groups(rest.slice(i, i + 200));
        for (const [id, my] of mine) {
          checked++;
          if (my.status === 2) continue;
          if (my.createTime > horizon) {
            skipped.newer_than_export = (skipped.newer_than_export ?? 0) + 1;
            continue;
          }
          candidates.set(id, { findings: compareGroup(my, { info: undefined, members: new Map() }, id), theirs: async () => ({ info: undefined, members: new Map() }), fix: async () => [] });
        }
      }
    }

    // Second look: only what is still different after the settle time is fixed.
    if (candidates.size > 0 && settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
    const confirmed: [string, Finding[], () => Promise<GroupEvent[]>][] = [];
    let settled = 0;
    const ids = [...candidates.keys()];
    for (let i = 0; i < ids.length; i += 100) {
      const mine = await ours.groups(ids.slice(i, i + 100));
      for (const id of ids.slice(i, i + 100)) {
        const c = candidates.get(id)!;
        const still = compareGroup(mine.get(id), await c.theirs(), id);
        if (still.length) confirmed.push([id, still, c.fix]);
        else settled++;
      }
    }

    let dismissed = 0;
    let snapshots = 0;
    for (const [id, findings, fix] of confirmed) {
      for (const f of findings) console.log(`openim:reconcile: ${id}: ${f.kind}: ${f.detail}`);
      const gone = findings.some((f) => f.kind === 'deleted' || f.kind === 'dismissed_without_notification');
      let events: GroupEvent[] = gone ? [dismissal(id, runID, now)] : await fix();
      if (!gone && events.length === 0) events = [dismissal(id, runID, now)]; // OpenIM lost it between the looks
      if (events[0]?.type === 'group.dismissed') dismissed++;
      else snapshots++;
      if (!dryRun) await publisher.publish(events);
    }
    if (!dryRun) await publisher.flush();
    const byKind = new Map<string, number>();
    for (const [, fs] of confirmed) for (const f of fs) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    console.log(
      [
        `openim:reconcile: ${checked} groups checked against ${values.api ? 'OpenIM\'s API' : `the export in ${values.export}`}${dryRun ? ' (dry run: nothing published)' : ''}`,
        `  found:     ${confirmed.length} groups differ${byKind.size ? ` (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}; ${settled} differences settled by themselves (in flight)`,
        `  fixed:     ${dismissed} dismissed (group.dismissed), ${snapshots} re-sent whole (group.snapshot)${dryRun ? ' — would be' : ''}`,
        `  skipped:   ${Object.keys(skipped).length ? Object.entries(skipped).map(([k, n]) => `${k} ${n}`).join(', ') : 'nothing'}`,
      ].join('\n'),
    );
  } finally {
    if (!dryRun) await producer.disconnect().catch(() => {});
    redis.disconnect();
  }
}

function exportSide(state: ExportState): TheirGroup {
  const owner = state.members.find((m) => m.roleLevel === 100)?.userID ?? state.info.creatorUserID;
  return { info: { ...state.info, ownerUserID: owner }, members: roleMap(state.members) };
}


