import type { Config } from '@imgroups/config';
import type { GroupEvent, MemberIn } from '@imgroups/contracts';
import type { Logger } from 'pino';
import type { Backfill } from './app.js';
import type { BackfillRequest } from './mapping.js';
import { toMemberIn, toSnapshotGroup, uniqueMembers, Unreadable } from './members.js';
import type { BridgeMetrics } from './metrics.js';
import { OpenIMApiError, type OpenIMApi } from './openim-api.js';
import { snapshotEvents } from './snapshot.js';

/**
 * The version get_full_group_member_user_ids answers is the group's member
 * version from v3.8.3-patch.14 on, but a hash of the member IDs (a uniformly
 * random uint64) up to patch.2. A real version counts changes of one group:
 * it stays far below 2^40 (a trillion changes); a hash lands below 2^40 with
 * probability 2^-24. So a version is used as `seq` only when it is a safe
 * integer in 1..2^40 and not below the notification's own version (versions
 * only grow while the version document lives). Otherwise the snapshot takes
 * the 1501's version: its content is at or after that version, and a
 * snapshot stamped with a lower version than its content only lets later
 * events with higher versions apply again, which changes nothing.
 */
export const MAX_PLAUSIBLE_VERSION = 2 ** 40;

export function plausibleVersion(version: number, notificationSeq: number | undefined): boolean {
  return (
    Number.isSafeInteger(version) &&
    version > 0 &&
    version <= MAX_PLAUSIBLE_VERSION &&
    (notificationSeq === undefined || version >= notificationSeq)
  );
}

/** Attempts at a consistent read (the member list did not change while it was paged). */
const CONSISTENT_READ_ATTEMPTS = 3;

export interface BackfillDeps {
  api: OpenIMApi;
  config: Pick<Config, 'OPENIM_SNAPSHOT_PART_MEMBERS' | 'MAX_EVENT_BYTES'>;
  logger: Logger;
  metrics?: BridgeMetrics;
}

/**
 * A 1501 -> the group's `group.snapshot` read from OpenIM: its members
 * (paged get_group_member_list), its info and status (get_groups_info) and
 * its version (get_full_group_member_user_ids, read before and after the
 * pages: equal versions and ID sets mean the pages are one state). A group
 * OpenIM no longer knows yields nothing (its group.created is out; the
 * reconciliation settles it), as does an answer that makes no valid
 * snapshot. Throws OpenIMApiError while OpenIM cannot answer (or refuses the
 * token): the bridge holds the partition and calls again.
 */
export function createBackfill(deps: BackfillDeps): Backfill {
  const { api, config, logger, metrics } = deps;
  return async (req: BackfillRequest): Promise<GroupEvent[]> => {
    try {
      return await read(req);
    } catch (err) {
      if (err instanceof OpenIMApiError && err.kind === 'not_found') {
        metrics?.backfillFailure('group_gone');
        logger.warn({ groupID: req.groupID, err: err.message }, 'OpenIM no longer knows the created group; publishing no members (reconciliation settles it)');
        return [];
      }
      if (err instanceof OpenIMApiError) {
        metrics?.backfillFailure(err.kind);
        throw err;
      }
      // An answer that makes no valid snapshot (a value our schema refuses):
      // waiting will not change it, so the partition moves on.
      metrics?.backfillFailure('unusable_answer');
      logger.error({ groupID: req.groupID, err: (err as Error).message }, 'OpenIM answer makes no valid snapshot; publishing no members (reconciliation reports it)');
      return [];
    }
  };

  async function read(req: BackfillRequest): Promise<GroupEvent[]> {
    for (let attempt = 1; ; attempt++) {
      const before = await api.getFullGroupMemberUserIDs(req.groupID);
      const raw = await api.getAllMembers(req.groupID);
      const [info] = (await api.getGroupsInfo([req.groupID])).filter((g) => g.groupID === req.groupID);
      if (!info) {
        metrics?.backfillFailure('group_gone');
        logger.warn({ groupID: req.groupID }, 'OpenIM no longer lists the created group; publishing no members (reconciliation settles it)');
        return [];
      }
      const after = await api.getFullGroupMemberUserIDs(req.groupID);
      const listed = new Set(raw.map((m) => m.userID));
      const consistent =
        before.version === after.version &&
        before.versionID === after.versionID &&
        after.userIDs.length === listed.size &&
        after.userIDs.every((id) => listed.has(id));
      if (!consistent && attempt < CONSISTENT_READ_ATTEMPTS) continue;
      if (!consistent) {
        // Still changing: publish what was read. Its version is the first
        // one read, a lower bound, so later changes still apply over it.
        logger.warn({ groupID: req.groupID, attempts: attempt }, 'member list kept changing while read; publishing the last read');
      }
      const members: MemberIn[] = [];
      for (const m of raw) {
        try {
          members.push(toMemberIn(m, info.createTime || req.occurredAt));
        } catch (err) {
          if (!(err instanceof Unreadable)) throw err;
          metrics?.backfillFailure('unusable_member');
          logger.warn({ groupID: req.groupID, err: err.message }, 'member left out of the backfill');
        }
      }
      const seq = plausibleVersion(before.version, req.notificationSeq) ? before.version : req.notificationSeq;
      return snapshotEvents({
        group: toSnapshotGroup(info),
        members: uniqueMembers(members),
        seq,
        eventIDBase: req.eventIDBase,
        occurredAt: req.occurredAt,
        operatorUserID: req.operatorUserID,
        partMembers: config.OPENIM_SNAPSHOT_PART_MEMBERS,
        maxBytes: config.MAX_EVENT_BYTES,
      });
    }
  }
}
