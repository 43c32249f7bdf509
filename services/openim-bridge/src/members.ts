import { isValidId, type GroupIn, type MemberIn, type SnapshotGroup } from '@imgroups/contracts';

/**
 * OpenIM's GroupInfo / GroupMemberFullInfo (tips JSON and HTTP API share the
 * field names) -> our event shapes. Shared by the notification mapping, the
 * 1501 backfill, the import and the reconciliation, so all four agree.
 */

export interface OpenIMGroupInfo {
  groupID: string;
  groupName: string;
  notification: string;
  introduction: string;
  faceURL: string;
  ownerUserID: string;
  createTime: number;
  ex: string;
  status: number;
  creatorUserID: string;
  groupType: number;
  needVerification: number;
  lookMemberInfo: number;
  applyMemberFriend: number;
  notificationUpdateTime: number;
  notificationUserID: string;
}

export interface OpenIMMember {
  userID: string;
  roleLevel: number;
  joinTime: number;
  joinSource: number;
  inviterUserID: string;
}

/** A value that cannot become an event: the notification is dead-lettered with this reason. */
export class Unreadable extends Error {
  override readonly name = 'Unreadable';
}

const ROLES = new Set([100, 60, 20]);

/** The member as our events carry it; `fallbackJoinTime` when OpenIM left joinTime 0. */
export function toMemberIn(m: OpenIMMember, fallbackJoinTime: number, fallbackInviter = ''): MemberIn {
  if (!isValidId(m.userID)) throw new Unreadable(`member userID ${JSON.stringify(m.userID)} is not a usable ID`);
  if (!ROLES.has(m.roleLevel)) throw new Unreadable(`member ${m.userID}: roleLevel ${m.roleLevel} is not 100, 60 or 20`);
  const out: MemberIn = {
    userID: m.userID,
    roleLevel: m.roleLevel as MemberIn['roleLevel'],
    joinTime: m.joinTime > 0 ? m.joinTime : fallbackJoinTime,
  };
  if (m.joinSource >= 1 && m.joinSource <= 4) out.joinSource = m.joinSource as NonNullable<MemberIn['joinSource']>;
  const inviter = m.inviterUserID || fallbackInviter;
  if (inviter) out.inviterUserID = inviter;
  return out;
}

/** Members with each userID once (the last occurrence wins: later entries are fresher). */
export function uniqueMembers(members: MemberIn[]): MemberIn[] {
  const byId = new Map<string, MemberIn>();
  for (const m of members) {
    byId.delete(m.userID);
    byId.set(m.userID, m);
  }
  return [...byId.values()];
}

/** GroupInfo -> `group.created`'s group: every field except memberCount and status. */
export function toGroupIn(g: OpenIMGroupInfo): GroupIn {
  return {
    groupID: g.groupID,
    groupName: g.groupName,
    notification: g.notification,
    introduction: g.introduction,
    faceURL: g.faceURL,
    ownerUserID: g.ownerUserID,
    createTime: g.createTime,
    ex: g.ex,
    creatorUserID: g.creatorUserID,
    groupType: g.groupType as GroupIn['groupType'],
    needVerification: g.needVerification as GroupIn['needVerification'],
    lookMemberInfo: g.lookMemberInfo as GroupIn['lookMemberInfo'],
    applyMemberFriend: g.applyMemberFriend as GroupIn['applyMemberFriend'],
    notificationUpdateTime: g.notificationUpdateTime,
    notificationUserID: g.notificationUserID,
  };
}

/** GroupInfo -> a snapshot's group: with status. Values out of range fail the event's self-check. */
export function toSnapshotGroup(g: OpenIMGroupInfo): SnapshotGroup {
  return { ...toGroupIn(g), groupID: g.groupID, status: g.status as SnapshotGroup['status'] };
}
