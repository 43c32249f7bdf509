import { GROUP_INFO_FIELDS, type GroupEvent } from '@imgroups/contracts';
import type { Outcome } from './evolve.js';

export type GroupCard = Record<string, unknown>;

/**
 * The read model's rules as plainly as they can be written: what the apply
 * script must do, for property and crash tests to compare Redis against.
 * `deliver(offset, event)` is one delivery of one message of the group's
 * partition (offsets only grow within a partition).
 */
export class ReferenceModel {
  /** `dedupeWindow`: event IDs remembered per group, newest first (Infinity: all). */
  constructor(private readonly dedupeWindow = Infinity) {}

  readonly groups = new Map<
    string,
    {
      fields: Record<string, string | number>;
      members: Map<string, { role: number; joinTime: number }>;
      dismissed: boolean;
      /** Offset of the last event recorded against the group (its partition's). */
      lastOffset: number;
      /** Event IDs recorded against the group, oldest first, at most `dedupeWindow`. */
      seen: string[];
    }
  >();

  deliver(offset: number, e: GroupEvent): Outcome {
    const g = this.groups.get(e.groupID);
    if (g && offset <= g.lastOffset) return 'duplicate_offset';
    if (g && !g.dismissed && g.seen.includes(e.eventID)) return 'duplicate_event';
    const outcome = this.handle(e);
    const after = this.groups.get(e.groupID);
    if (after) {
      after.lastOffset = offset;
      if (after.dismissed) after.seen = [];
      else {
        after.seen.push(e.eventID);
        if (after.seen.length > this.dedupeWindow) after.seen.shift();
      }
    }
    return outcome;
  }

  private handle(e: GroupEvent): Outcome {
    const g = this.groups.get(e.groupID);
    if (e.type === 'group.created') {
      if (g) return 'group_exists';
      const d = e.data.group;
      this.groups.set(e.groupID, {
        fields: {
          groupID: e.groupID,
          groupName: d.groupName,
          notification: d.notification,
          introduction: d.introduction,
          faceURL: d.faceURL,
          ownerUserID: d.ownerUserID,
          createTime: d.createTime,
          ex: d.ex,
          status: 0,
          creatorUserID: d.creatorUserID || d.ownerUserID,
          groupType: d.groupType,
          needVerification: d.needVerification,
          lookMemberInfo: d.lookMemberInfo,
          applyMemberFriend: d.applyMemberFriend,
          notificationUpdateTime: d.notificationUpdateTime,
          notificationUserID: d.notificationUserID,
        },
        members: new Map(
          e.data.members.map((m) => [m.userID, { role: m.userID === d.ownerUserID ? 100 : m.roleLevel, joinTime: m.joinTime }]),
        ),
        dismissed: false,
        lastOffset: -1,
        seen: [],
      });
      return 'applied';
    }
    if (!g) return 'unknown_group';
    if (g.dismissed) return 'group_dismissed';
    switch (e.type) {
      case 'group.info_updated':
        Object.assign(g.fields, e.data);
        return 'applied';
      case 'group.status_changed':
        g.fields.status = e.data.status;
        return 'applied';
      case 'group.owner_transferred': {
        const { oldOwnerUserID: from, newOwnerUserID: to } = e.data;
        const next = g.members.get(to);
        if (!next) return 'not_member';
        const prev = g.members.get(from);
        if (prev && from !== to) prev.role = 20;
        next.role = 100;
        g.fields.ownerUserID = to;
        return 'applied';
      }
      case 'group.dismissed':
        g.dismissed = true;
        g.members.clear();
        return 'applied';
      case 'member.joined': {
        let added = 0;
        for (const m of e.data.members) {
          if (g.members.has(m.userID)) continue;
          g.members.set(m.userID, { role: m.roleLevel, joinTime: m.joinTime });
          added++;
        }
        return added ? 'applied' : 'already_member';
      }
      case 'member.left': {
        let removed = 0;
        for (const u of e.data.userIDs) if (g.members.delete(u)) removed++;
        return removed ? 'applied' : 'not_member';
      }
      case 'member.role_changed': {
        const m = g.members.get(e.data.userID);
        if (!m) return 'not_member';
        if (m.role === 100) return 'is_owner';
        m.role = e.data.roleLevel;
        return 'applied';
      }
    }
  }

  /** GroupInfo in wire order, or null for an unknown or dismissed group. */
  card(groupID: string): GroupCard | null {
    const g = this.groups.get(groupID);
    if (!g || g.dismissed) return null;
    const all: Record<string, string | number> = { ...g.fields, memberCount: g.members.size };
    return Object.fromEntries(GROUP_INFO_FIELDS.map((f) => [f, all[f]]));
  }

  /** A user's live groups with join times, by join time then groupID (bytewise, as Redis compares). */
  joinTimes(userID: string): [groupID: string, joinTime: number][] {
    const rows: [string, number][] = [];
    for (const [groupID, g] of this.groups) {
      const m = g.members.get(userID);
      if (!g.dismissed && m) rows.push([groupID, m.joinTime]);
    }
    return rows.sort(([ga, ta], [gb, tb]) => ta - tb || Buffer.compare(Buffer.from(ga), Buffer.from(gb)));
  }

  /** A user's page content: the cards of `joinTimes`, in that order. */
  list(userID: string): GroupCard[] {
    return this.joinTimes(userID).map(([groupID]) => this.card(groupID)!);
  }
}
