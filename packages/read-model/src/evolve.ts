import { RoleLevel, type GroupEvent, type GroupIn, type MemberIn } from '@imgroups/contracts';

/**
 * The pure half of the projection: an event becomes one operation on the read
 * model, with every value already a string in the form Redis stores it (Lua
 * would print large numbers in exponent form). What the operation does to the
 * state, including the guards, is lua/apply.lua's job (apply.ts runs it);
 * reference-model.ts holds the same
 * rules as plain TypeScript for tests to compare against.
 */

/** A member as the read model stores it (wire.ts memberDetail() packs all but userID and joinTime). */
export interface MemberRow {
  userID: string;
  roleLevel: string;
  /** ms */
  joinTime: string;
  /** '0' when absent */
  joinSource: string;
  /** '' when absent */
  inviterUserID: string;
  /** who let the member in ('' when the event names nobody) */
  operatorUserID: string;
}

/** Stored group fields (everything in GroupInfo but memberCount, which is ZCARD). */
export type GroupFields = Record<string, string>;

/** An operation on the read model; wire.ts says how each travels to the apply script. */
export type Op =
  | { op: 'create'; fields: GroupFields; members: MemberRow[] }
  | { op: 'patch'; fields: GroupFields }
  | { op: 'status'; status: string }
  | { op: 'transfer'; from: string; to: string }
  | { op: 'dismiss' }
  | { op: 'join'; members: MemberRow[] }
  | { op: 'leave'; userIDs: string[] }
  | { op: 'role'; userID: string; role: string }
  /** v1.1: the whole group (a part of it when `parts` > 1); status among the fields. */
  | { op: 'snapshot'; fields: GroupFields; members: MemberRow[]; part: string; parts: string };
export type OpName = Op['op'];

function memberRow(m: MemberIn, operatorUserID: string): MemberRow {
  return {
    userID: m.userID,
    roleLevel: String(m.roleLevel),
    joinTime: String(m.joinTime),
    joinSource: String(m.joinSource ?? 0),
    inviterUserID: m.inviterUserID ?? '',
    operatorUserID,
  };
}

function stringify(fields: Record<string, string | number | undefined>): GroupFields {
  const out: GroupFields = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = String(v);
  return out;
}

/** The stored fields of a group as an event gives them; creatorUserID defaults to the owner. */
function groupFields(groupID: string, g: GroupIn, status: number): GroupFields {
  return stringify({
    groupID,
    groupName: g.groupName,
    notification: g.notification,
    introduction: g.introduction,
    faceURL: g.faceURL,
    ownerUserID: g.ownerUserID,
    createTime: g.createTime,
    ex: g.ex,
    status,
    creatorUserID: g.creatorUserID || g.ownerUserID,
    groupType: g.groupType,
    needVerification: g.needVerification,
    lookMemberInfo: g.lookMemberInfo,
    applyMemberFriend: g.applyMemberFriend,
    notificationUpdateTime: g.notificationUpdateTime,
    notificationUserID: g.notificationUserID,
  });
}

/** The owner named by the group is the owner, whatever role the list gives. */
function ownerFirst(members: MemberIn[], ownerUserID: string, operatorUserID: string): MemberRow[] {
  return members.map((m) => memberRow(m.userID === ownerUserID ? { ...m, roleLevel: RoleLevel.Owner } : m, operatorUserID));
}

export function evolve(event: GroupEvent): Op {
  switch (event.type) {
    case 'group.created':
      return {
        op: 'create',
        fields: groupFields(event.groupID, event.data.group, 0),
        members: ownerFirst(event.data.members, event.data.group.ownerUserID, event.operatorUserID),
      };
    case 'group.snapshot':
      return {
        op: 'snapshot',
        fields: groupFields(event.groupID, event.data.group, event.data.group.status),
        members: ownerFirst(event.data.members, event.data.group.ownerUserID, event.operatorUserID),
        part: String(event.data.part ?? 1),
        parts: String(event.data.parts ?? 1),
      };
    case 'group.info_updated':
      return { op: 'patch', fields: stringify(event.data) };
    case 'group.status_changed':
      return { op: 'status', status: String(event.data.status) };
    case 'group.owner_transferred':
      return { op: 'transfer', from: event.data.oldOwnerUserID, to: event.data.newOwnerUserID };
    case 'group.dismissed':
      return { op: 'dismiss' };
    case 'member.joined':
      return { op: 'join', members: event.data.members.map((m) => memberRow(m, event.operatorUserID)) };
    case 'member.left':
      return { op: 'leave', userIDs: event.data.userIDs };
    case 'member.role_changed':
      return { op: 'role', userID: event.data.userID, role: String(event.data.roleLevel) };
  }
}

/**
 * What happened to one event, as the apply script reports it. Everything but
 * `applied` is an "ignored and counted" outcome: the event is done, never retried.
 */
export const OUTCOMES = [
  'applied',
  'duplicate_offset', // at or below the group's last applied offset: a redelivery
  'duplicate_event', // eventID seen within the dedupe window: a re-send
  'unknown_group', // before group.created (or never created)
  'group_dismissed', // after group.dismissed
  'group_exists', // group.created for a group that exists (or existed)
  'already_member', // member.joined where every user is already a member
  'not_member', // leave/transfer/role change naming no current member
  'is_owner', // member.role_changed aimed at the owner (ownership moves only by transfer)
  'stale_seq', // v1.1: every entity it changes has a seq at or above the event's
  'snapshot_part_held', // v1.1: a part of a snapshot, held until its last part applies the whole
  'snapshot_part_orphan', // v1.1: a part whose earlier parts did not come just before it
] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** The outcomes only events of stream v1.1 (with `seq`, or snapshots) can have. */
export const V1_1_OUTCOMES: readonly Outcome[] = ['stale_seq', 'snapshot_part_held', 'snapshot_part_orphan'];
