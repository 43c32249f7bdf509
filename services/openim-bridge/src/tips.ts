import { z } from 'zod';

/**
 * The "tips" JSON inside a group notification's content, as OpenIM writes it
 * with Go's encoding/json from its protobuf structs (OPENIM.md §2): camelCase
 * names as in the .proto, every field present with zero values, absent
 * messages and lists as `null`, 64-bit integers as JSON numbers. Read
 * leniently: a missing scalar is its zero value (older or newer OpenIM may
 * omit some), `null` is absent; only what an event cannot be built without
 * is required (mapping.ts).
 */

const str = z
  .string()
  .nullish()
  .transform((v) => v ?? '');
/** A JSON number; beyond 2^53 it arrives rounded, which the callers check where it matters. */
const num = z
  .number()
  .nullish()
  .transform((v) => v ?? 0);

export const TipsGroupInfo = z.object({
  groupID: str,
  groupName: str,
  notification: str,
  introduction: str,
  faceURL: str,
  ownerUserID: str,
  createTime: num,
  memberCount: num,
  ex: str,
  status: num,
  creatorUserID: str,
  groupType: num,
  needVerification: num,
  lookMemberInfo: num,
  applyMemberFriend: num,
  notificationUpdateTime: num,
  notificationUserID: str,
});
export type TipsGroupInfo = z.infer<typeof TipsGroupInfo>;

export const TipsMember = z.object({
  groupID: str,
  userID: str,
  roleLevel: num,
  joinTime: num,
  nickname: str,
  faceURL: str,
  appMangerLevel: num, // sic, upstream's spelling
  joinSource: num,
  operatorUserID: str,
  ex: str,
  muteEndTime: num,
  inviterUserID: str,
});
export type TipsMember = z.infer<typeof TipsMember>;

const group = TipsGroupInfo.nullish();
const member = TipsMember.nullish();
const members = z
  .array(TipsMember)
  .nullish()
  .transform((v) => v ?? []);
const version = { groupMemberVersion: num, groupMemberVersionID: str };

export const GroupCreatedTips = z.object({
  group,
  opUser: member,
  memberList: members,
  operationTime: num,
  groupOwnerUser: member,
  ...version,
});
/** 1502 GroupInfoSetTips, 1519 GroupInfoSetAnnouncementTips, 1520 GroupInfoSetNameTips. */
export const GroupInfoSetTips = z.object({ group, opUser: member, ...version });
export const MemberQuitTips = z.object({ group, quitUser: member, operationTime: num, ...version });
export const GroupOwnerTransferredTips = z.object({
  group,
  opUser: member,
  newGroupOwner: member,
  oldGroupOwner: str,
  operationTime: num,
  oldGroupOwnerInfo: member,
  ...version,
});
export const MemberKickedTips = z.object({ group, opUser: member, kickedUserList: members, operationTime: num, ...version });
export const MemberInvitedTips = z.object({
  group,
  opUser: member,
  invitedUserList: members,
  operationTime: num,
  inviterUser: member,
  ...version,
});
export const MemberEnterTips = z.object({ group, entrantUser: member, operationTime: num, ...version });
export const GroupDismissedTips = z.object({ group, opUser: member, operationTime: num });
/** 1514 GroupMutedTips, 1515 GroupCancelMutedTips. */
export const GroupMutedTips = z.object({ group, opUser: member, operationTime: num, ...version });
/** 1516 member info set, 1517 set to admin, 1518 set to ordinary. */
export const GroupMemberInfoSetTips = z.object({
  group,
  opUser: member,
  operationTime: num,
  changedUser: member,
  groupSortVersion: num,
  ...version,
});

/** The content envelope: `{"detail":"<tips JSON as a string>"}` (sdkws.NotificationElem). */
export const NotificationElem = z.object({ detail: z.string() });
