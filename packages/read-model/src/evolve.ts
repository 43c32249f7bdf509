import { RoleLevel, type GroupEvent, type MemberIn } from '@imgroups/contracts';

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
  | { op: 'role'; userID: string; role: string };
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

export function evolve(event: GroupEvent): Op {
  switch (event.type) {
    case 'group.created': {
      const g = event.data.group;
      return {
        op: 'create',
        fields: stringify({
          groupID: event.groupID,
          groupName: g.groupName,
          notification: g.notification,
          introduction: g.introduction,
          faceURL: g.faceURL,
          ownerUserID: g.ownerUserID,
          createTime: g.createTime,
          ex: g.ex,
          status: 0,
          creatorUserID: g.creatorUserID || g.ownerUserID,
          groupType: g.groupType,
          needVerification: g.needVerification,
          lookMemberInfo: g.lookMemberInfo,
          applyMemberFriend: g.applyMemberFriend,
          notificationUpdateTime: g.notificationUpdateTime,
          notificationUserID: g.notificationUserID,
        }),
        // The owner named by the group is the owner, whatever role the list gives.
        members: event.data.members.map((m) =>
          memberRow(m.userID === g.ownerUserID ? { ...m, roleLevel: RoleLevel.Owner } : m, event.operatorUserID),
        ),
      };
    }
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
] as const;
export type Outcome = (typeof OUTCOMES)[number];
