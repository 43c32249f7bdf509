import { GROUP_INFO_FIELDS, type GroupEvent, type GroupIn, type MemberIn } from '@imgroups/contracts';
import { DEFAULT_SEQ_TOMBSTONES } from './apply.js';
import type { Outcome } from './evolve.js';

export type GroupCard = Record<string, unknown>;

interface Member {
  role: number;
  joinTime: number;
}

interface Group {
  fields: Record<string, string | number>;
  members: Map<string, Member>;
  dismissed: boolean;
  /** Offset of the last event recorded against the group (its partition's). */
  lastOffset: number;
  /** Event IDs recorded against the group, oldest first, at most `dedupeWindow`. */
  seen: string[];
  /** v1.1: seq of the last change to the group's own info (0: none). */
  q: number;
  /** v1.1: the highest seq of a dropped tombstone; older membership changes are stale. */
  floor: number;
  /** v1.1: whether any membership carries a seq. */
  versioned: boolean;
  /** v1.1: seq of the last change to each current member. */
  mseq: Map<string, number>;
  /** v1.1: tombstones, userID -> seq of the leave. */
  gone: Map<string, number>;
}

/** A snapshot in parts being received (CONTRACT.md v1.1): its identity, the next part, the members so far. */
interface Staging {
  id: string;
  next: number;
  members: Map<string, MemberIn>;
}

/**
 * The read model's rules as plainly as they can be written: what the apply
 * script must do, for property and crash tests to compare Redis against.
 * `deliver(offset, event)` is one delivery of one message of the group's
 * partition (offsets only grow within a partition).
 */
export class ReferenceModel {
  /**
   * `dedupeWindow`: event IDs remembered per group, newest first (Infinity: all).
   * `seqTombstones`: membership tombstones kept per group (v1.1).
   */
  constructor(
    private readonly dedupeWindow = Infinity,
    private readonly seqTombstones = DEFAULT_SEQ_TOMBSTONES,
  ) {}

  readonly groups = new Map<string, Group>();
  private readonly staging = new Map<string, Staging>();

  deliver(offset: number, e: GroupEvent): Outcome {
    const g = this.groups.get(e.groupID);
    if (g && offset <= g.lastOffset) return 'duplicate_offset';
    if (g && !g.dismissed && g.seen.includes(e.eventID)) return 'duplicate_event';
    const outcome = this.handle(e);
    const after = this.groups.get(e.groupID);
    if (after) {
      if (!after.dismissed) this.trim(after);
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
    const s = e.seq;
    if (e.type === 'group.created') {
      if (g) return 'group_exists';
      this.create(e.groupID, fieldsOf(e.groupID, e.data.group, 0), e.data.members, e.data.group.ownerUserID, s);
      return 'applied';
    }
    if (g?.dismissed) return 'group_dismissed';
    if (e.type === 'group.snapshot') {
      let members: MemberIn[] = e.data.members;
      const parts = e.data.parts ?? 1;
      if (parts > 1) {
        const part = e.data.part ?? 1;
        const id = `${s ?? ''}/${parts}`;
        let st = this.staging.get(e.groupID);
        if (part === 1) {
          st = { id, next: 1, members: new Map() };
          this.staging.set(e.groupID, st);
        } else if (!st || st.id !== id || st.next !== part) return 'snapshot_part_orphan';
        if (part < parts) {
          for (const m of e.data.members) st.members.set(m.userID, m);
          st.next = part + 1;
          return 'snapshot_part_held';
        }
        members = [...st.members.values(), ...e.data.members];
        this.staging.delete(e.groupID);
      }
      this.snapshot(e.groupID, fieldsOf(e.groupID, e.data.group, e.data.group.status), members, e.data.group.ownerUserID, s);
      return 'applied';
    }
    if (!g) return 'unknown_group';
    switch (e.type) {
      case 'member.joined': {
        let added = 0;
        let stale = 0;
        for (const m of e.data.members) {
          if (!this.newerMember(g, m.userID, s)) {
            stale++;
            continue;
          }
          if (!g.members.has(m.userID) || s !== undefined) {
            // A newer join of a current member: the leave between them never reached us.
            g.members.set(m.userID, { role: m.roleLevel, joinTime: m.joinTime });
            added++;
          }
          this.recordMember(g, m.userID, s, true);
        }
        return added ? 'applied' : stale ? 'stale_seq' : 'already_member';
      }
      case 'member.left': {
        let removed = 0;
        let stale = 0;
        for (const u of e.data.userIDs) {
          if (!this.newerMember(g, u, s)) {
            stale++;
            continue;
          }
          if (g.members.delete(u)) removed++;
          this.recordMember(g, u, s, false);
        }
        return removed ? 'applied' : stale ? 'stale_seq' : 'not_member';
      }
      case 'member.role_changed': {
        const m = g.members.get(e.data.userID);
        if (!this.newerMember(g, e.data.userID, s)) return 'stale_seq';
        if (!m) return 'not_member';
        if (m.role === 100) return 'is_owner';
        m.role = e.data.roleLevel;
        this.recordMember(g, e.data.userID, s, true);
        return 'applied';
      }
      default:
        break; // the group's own info, below
    }
    // The group's own info: ordered by the group's seq.
    if (s !== undefined && s <= g.q) return 'stale_seq';
    switch (e.type) {
      case 'group.info_updated':
        Object.assign(g.fields, e.data);
        break;
      case 'group.status_changed':
        g.fields.status = e.data.status;
        break;
      case 'group.owner_transferred': {
        const { oldOwnerUserID: from, newOwnerUserID: to } = e.data;
        const next = g.members.get(to);
        if (!next) return 'not_member';
        // The old owner takes the role the new owner had (20 or 60), as upstream does;
        // unless the new owner already owns the group (then the old owner keeps its role).
        const prev = g.members.get(from);
        if (prev && from !== to && next.role !== 100 && this.newerMember(g, from, s)) {
          prev.role = next.role;
          this.recordMember(g, from, s, true);
        }
        if (this.newerMember(g, to, s)) {
          next.role = 100;
          this.recordMember(g, to, s, true);
        }
        g.fields.ownerUserID = to;
        break;
      }
      case 'group.dismissed':
        this.dismiss(e.groupID, g);
        break;
    }
    if (s !== undefined) g.q = s;
    return 'applied';
  }

  private create(groupID: string, fields: Group['fields'], members: MemberIn[], ownerUserID: string, s: number | undefined) {
    const g: Group = {
      fields,
      members: new Map(),
      dismissed: fields.status === 2,
      lastOffset: -1,
      seen: [],
      q: s ?? 0,
      floor: 0,
      versioned: false,
      mseq: new Map(),
      gone: new Map(),
    };
    this.groups.set(groupID, g);
    if (g.dismissed) return;
    for (const m of members) {
      g.members.set(m.userID, { role: m.userID === ownerUserID ? 100 : m.roleLevel, joinTime: m.joinTime });
      this.recordMember(g, m.userID, s, true);
    }
  }

  /** group.snapshot, once whole: the group as it was at `s` (CONTRACT.md v1.1). */
  private snapshot(groupID: string, fields: Group['fields'], members: MemberIn[], ownerUserID: string, s: number | undefined) {
    const g = this.groups.get(groupID);
    if (!g) {
      this.create(groupID, fields, members, ownerUserID, s);
      return;
    }
    if (s === undefined || s > g.q) {
      if (fields.status === 2) {
        this.dismiss(groupID, g);
        if (s !== undefined) g.q = s;
        return;
      }
      g.fields = fields;
      if (s !== undefined) g.q = s;
    }
    const listed = new Set<string>();
    for (const m of members) {
      listed.add(m.userID);
      if (!this.newerMember(g, m.userID, s)) continue;
      g.members.set(m.userID, { role: m.userID === ownerUserID ? 100 : m.roleLevel, joinTime: m.joinTime });
      this.recordMember(g, m.userID, s, true);
    }
    for (const u of [...g.members.keys()]) {
      if (listed.has(u) || !this.newerMember(g, u, s)) continue;
      g.members.delete(u);
      this.recordMember(g, u, s, false);
    }
  }

  private dismiss(groupID: string, g: Group) {
    g.dismissed = true;
    g.members.clear();
    g.mseq.clear();
    g.gone.clear();
    this.staging.delete(groupID);
  }

  private memberVersion(g: Group, userID: string): number | undefined {
    return g.versioned ? (g.mseq.get(userID) ?? g.gone.get(userID)) : undefined;
  }

  /** Whether a change at `s` to the membership is newer than what is known of it (always, without seq). */
  private newerMember(g: Group, userID: string, s: number | undefined): boolean {
    if (s === undefined) return true;
    const known = this.memberVersion(g, userID);
    return known === undefined ? s > g.floor : s > known;
  }

  /** The membership's version after a change: `s`, or what it had when the event has no seq. */
  private recordMember(g: Group, userID: string, s: number | undefined, live: boolean) {
    const v = s ?? this.memberVersion(g, userID);
    if (v === undefined) return;
    g.versioned = true;
    if (live) {
      g.mseq.set(userID, v);
      g.gone.delete(userID);
    } else {
      g.gone.set(userID, v);
      g.mseq.delete(userID);
    }
  }

  /** Past the bound, the oldest tombstones go (lowest seq, then userID bytewise, as ZPOPMIN) and the floor rises. */
  private trim(g: Group) {
    const excess = g.gone.size - this.seqTombstones;
    if (excess <= 0) return;
    const oldest = [...g.gone].sort(([ua, a], [ub, b]) => a - b || Buffer.compare(Buffer.from(ua), Buffer.from(ub))).slice(0, excess);
    for (const [u] of oldest) g.gone.delete(u);
    g.floor = Math.max(g.floor, oldest[oldest.length - 1]![1]);
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

/** The stored fields of a group as an event gives them (evolve.ts does the same for Redis). */
function fieldsOf(groupID: string, d: GroupIn, status: number): Group['fields'] {
  return {
    groupID,
    groupName: d.groupName,
    notification: d.notification,
    introduction: d.introduction,
    faceURL: d.faceURL,
    ownerUserID: d.ownerUserID,
    createTime: d.createTime,
    ex: d.ex,
    status,
    creatorUserID: d.creatorUserID || d.ownerUserID,
    groupType: d.groupType,
    needVerification: d.needVerification,
    lookMemberInfo: d.lookMemberInfo,
    applyMemberFriend: d.applyMemberFriend,
    notificationUpdateTime: d.notificationUpdateTime,
    notificationUserID: d.notificationUserID,
  };
}
