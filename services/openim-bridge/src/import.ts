import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GroupSnapshot, MemberIn } from '@imgroups/contracts';
import { toMemberIn, toSnapshotGroup, uniqueMembers, Unreadable, type OpenIMGroupInfo } from './members.js';
import { groupFromDoc, memberFromDoc, readExport, versionFromDoc } from './mongo-export.js';
import { snapshotEvents, stateDigest } from './snapshot.js';

/**
 * Bootstrap from an existing OpenIM: `mongoexport --jsonFormat=relaxed` files
 * of `group`, `group_member` and (optional) `group_member_version` in one
 * directory -> one `group.snapshot` per group (in parts when large), at the
 * group's member version when the version file is given. The owner is the
 * member with role_level 100; dismissed groups (status 2) are published as
 * such, so a projection that had them drops them.
 *
 * Memory: one pass holds its groups and their members. `passes` > 1 reads
 * the files that many times, each pass taking the groups whose ID hashes to
 * it, for exports larger than memory.
 */

export const EXPORT_FILES = { groups: 'group.json', members: 'group_member.json', versions: 'group_member_version.json' } as const;

export interface ExportState {
  info: OpenIMGroupInfo;
  members: MemberIn[];
  /** From group_member_version, when present. */
  version: number | undefined;
}

export interface ImportProgress {
  groups: number;
  members: number;
  events: number;
  seconds: number;
}

export interface ImportSummary extends ImportProgress {
  dismissed: number;
  withSeq: number;
  multiPart: number;
  skipped: Record<string, number>;
  /** A few skipped items, for the operator to look at. */
  examples: string[];
}

export interface ReadExportOptions {
  dir: string;
  passes?: number;
  /** Every group of the export, one at a time, after each pass has read its share. */
  onGroup: (groupID: string, state: ExportState) => Promise<void>;
  onSkip?: (reason: string, example: string) => void;
}

function inPass(groupID: string, pass: number, passes: number): boolean {
  if (passes === 1) return true;
  return createHash('md5').update(groupID).digest().readUInt32BE(0) % passes === pass;
}

/** Read an export directory group by group (the import and the reconciliation share this). */
export async function readExportGroups(opts: ReadExportOptions): Promise<void> {
  const passes = Math.max(1, opts.passes ?? 1);
  const file = (name: string) => join(opts.dir, name);
  for (const required of [EXPORT_FILES.groups, EXPORT_FILES.members]) {
    if (!existsSync(file(required))) throw new Error(`${file(required)} is missing (mongoexport --jsonFormat=relaxed --collection=${required.replace('.json', '')})`);
  }
  const skip = opts.onSkip ?? (() => {});
  const withVersions = existsSync(file(EXPORT_FILES.versions));
  for (let pass = 0; pass < passes; pass++) {
    const groups = new Map<string, ExportState>();
    for await (const { doc, lineNo } of readExport(file(EXPORT_FILES.groups))) {
      const info = groupFromDoc(doc);
      if (!info.groupID) {
        skip('group_without_id', `${EXPORT_FILES.groups}:${lineNo}`);
        continue;
      }
      if (inPass(info.groupID, pass, passes)) groups.set(info.groupID, { info, members: [], version: undefined });
    }
    if (withVersions) {
      for await (const { doc } of readExport(file(EXPORT_FILES.versions))) {
        const v = versionFromDoc(doc);
        const state = groups.get(v.groupID);
        if (state && Number.isSafeInteger(v.version) && v.version > 0) state.version = v.version;
      }
    }
    for await (const { doc, lineNo } of readExport(file(EXPORT_FILES.members))) {
      const m = memberFromDoc(doc);
      const state = groups.get(m.groupID);
      if (!state) {
        if (inPass(m.groupID, pass, passes)) skip('member_of_unknown_group', `${EXPORT_FILES.members}:${lineNo} group ${m.groupID}`);
        continue;
      }
      try {
        state.members.push(toMemberIn(m, state.info.createTime));
      } catch (err) {
        if (!(err instanceof Unreadable)) throw err;
        skip('invalid_member', `${EXPORT_FILES.members}:${lineNo}: ${err.message}`);
      }
    }
    for (const [groupID, state] of groups) {
      groups.delete(groupID); // release as we go
      await opts.onGroup(groupID, state);
    }
  }
}

/** A group of the export -> its snapshot events, or why it has none. */
export function exportSnapshot(
  groupID: string,
  state: ExportState,
  opts: { partMembers: number; maxBytes: number; occurredAt: number; idPrefix: string },
): { ok: true; events: GroupSnapshot[] } | { ok: false; reason: string; detail: string } {
  const members = uniqueMembers(state.members);
  const owner = members.find((m) => m.roleLevel === 100)?.userID ?? state.info.creatorUserID;
  if (!owner) return { ok: false, reason: 'no_owner', detail: `group ${groupID}: no member with role 100 and no creator` };
  const group = toSnapshotGroup({ ...state.info, ownerUserID: owner });
  try {
    const events = snapshotEvents({
      group,
      members,
      seq: state.version,
      eventIDBase: `${opts.idPrefix}:${groupID}:${stateDigest(group, members, state.version)}`,
      occurredAt: opts.occurredAt,
      partMembers: opts.partMembers,
      maxBytes: opts.maxBytes,
    });
    return { ok: true, events };
  } catch (err) {
    return { ok: false, reason: 'invalid_group', detail: (err as Error).message };
  }
}

/**
 * The import: every group of the export published as snapshots through
 * `publish` (which batches and waits for acks). Reports progress every
 * `progressEveryMs` and returns the summary.
 */
export async function importExport(opts: {
  dir: string;
  passes?: number;
  partMembers: number;
  maxBytes: number;
  publish: (events: GroupSnapshot[]) => Promise<void>;
  onProgress?: (p: ImportProgress) => void;
  progressEveryMs?: number;
  now?: () => number;
}): Promise<ImportSummary> {
  const now = opts.now ?? Date.now;
  const started = now();
  const summary: ImportSummary = { groups: 0, members: 0, events: 0, seconds: 0, dismissed: 0, withSeq: 0, multiPart: 0, skipped: {}, examples: [] };
  const skip = (reason: string, example: string) => {
    summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
    if (summary.examples.length < 10) summary.examples.push(`${reason}: ${example}`);
  };
  let lastReport = started;
  await readExportGroups({
    dir: opts.dir,
    ...(opts.passes ? { passes: opts.passes } : {}),
    onSkip: skip,
    onGroup: async (groupID, state) => {
      const made = exportSnapshot(groupID, state, { partMembers: opts.partMembers, maxBytes: opts.maxBytes, occurredAt: started, idPrefix: 'openim-import' });
      if (!made.ok) return skip(made.reason, made.detail);
      await opts.publish(made.events);
      summary.groups++;
      summary.members += made.events.reduce((n, e) => n + e.data.members.length, 0);
      summary.events += made.events.length;
      if (made.events.length > 1) summary.multiPart++;
      if (state.version !== undefined) summary.withSeq++;
      if (state.info.status === 2) summary.dismissed++;
      const t = now();
      if (opts.onProgress && t - lastReport >= (opts.progressEveryMs ?? 2000)) {
        lastReport = t;
        opts.onProgress({ groups: summary.groups, members: summary.members, events: summary.events, seconds: (t - started) / 1000 });
      }
    },
  });
  summary.seconds = (now() - started) / 1000;
  return summary;
}
