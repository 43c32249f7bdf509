/**
 * The "tips" JSON inside a group notification's content, as OpenIM writes it
 * with Go's encoding/json from its protobuf structs (OPENIM.md §2): camelCase
 * names as in the .proto, every field present with zero values, absent
 * messages and lists as `null`, 64-bit integers as JSON numbers. Read
 * leniently: a missing scalar is its zero value (older or newer OpenIM may
 * omit some), `null` is absent, unknown fields are ignored; only what an
 * event cannot be built without is required (mapping.ts).
 *
 * Plain reader functions rather than zod: this runs for every group
 * notification on OpenIM's busiest topic, and a schema library's generic
 * object walk cost several times the rest of the mapping (bench:bridge).
 */

/** A value of the wrong JSON type: the notification cannot be read. */
export class TipsError extends Error {
  override readonly name = 'TipsError';
}

type Reader<T> = (v: unknown, path: string) => T;
type Shape = Record<string, Reader<unknown>>;
type Read<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

const str: Reader<string> = (v, path) => {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new TipsError(`${path}: expected a string`);
  return v;
};
/** A JSON number; beyond 2^53 it arrives rounded, which the callers check where it matters. */
const num: Reader<number> = (v, path) => {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number') throw new TipsError(`${path}: expected a number`);
  return v;
};

function object<S extends Shape>(shape: S): Reader<Read<S>> {
  const keys = Object.keys(shape);
  return (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TipsError(`${path || '(root)'}: expected an object`);
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = shape[k]!(o[k], path ? `${path}.${k}` : k);
    return out as Read<S>;
  };
}
const nullable =
  <T>(r: Reader<T>): Reader<T | null> =>
  (v, path) =>
    v === undefined || v === null ? null : r(v, path);
const list =
  <T>(r: Reader<T>): Reader<T[]> =>
  (v, path) => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new TipsError(`${path}: expected a list`);
    return v.map((x, i) => r(x, `${path}.${i}`));
  };

export const TipsGroupInfo = object({
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
export type TipsGroupInfo = ReturnType<typeof TipsGroupInfo>;

export const TipsMember = object({
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
export type TipsMember = ReturnType<typeof TipsMember>;

const group = nullable(TipsGroupInfo);
const member = nullable(TipsMember);
const members = list(TipsMember);
const version = { groupMemberVersion: num, groupMemberVersionID: str };

export const GroupCreatedTips = object({ group, opUser: member, memberList: members, operationTime: num, groupOwnerUser: member, ...version });
/** 1502 GroupInfoSetTips, 1519 GroupInfoSetAnnouncementTips, 1520 GroupInfoSetNameTips. */
export const GroupInfoSetTips = object({ group, opUser: member, ...version });
export const MemberQuitTips = object({ group, quitUser: member, operationTime: num, ...version });
export const GroupOwnerTransferredTips = object({
  group,
  opUser: member,
  newGroupOwner: member,
  oldGroupOwner: str,
  operationTime: num,
  oldGroupOwnerInfo: member,
  ...version,
});
export const MemberKickedTips = object({ group, opUser: member, kickedUserList: members, operationTime: num, ...version });
export const MemberInvitedTips = object({ group, opUser: member, invitedUserList: members, operationTime: num, inviterUser: member, ...version });
export const MemberEnterTips = object({ group, entrantUser: member, operationTime: num, ...version });
export const GroupDismissedTips = object({ group, opUser: member, operationTime: num });
/** 1514 GroupMutedTips, 1515 GroupCancelMutedTips. */
export const GroupMutedTips = object({ group, opUser: member, operationTime: num, ...version });
/** 1516 member info set, 1517 set to admin, 1518 set to ordinary. */
export const GroupMemberInfoSetTips = object({ group, opUser: member, operationTime: num, changedUser: member, groupSortVersion: num, ...version });

/** The content envelope: `{"detail":"<tips JSON as a string>"}` (sdkws.NotificationElem). */
export const NotificationElem = object({
  detail: (v, path) => {
    if (typeof v !== 'string') throw new TipsError(`${path}: expected a string`);
    return v;
  },
});
