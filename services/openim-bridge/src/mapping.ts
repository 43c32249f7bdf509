import {
  checkEvent,
  isValidId,
  type GroupEvent,
  type GroupCreated,
  type InfoPatch,
  type MemberIn,
} from '@imgroups/contracts';
import { toGroupIn, toMemberIn, uniqueMembers, Unreadable, type OpenIMMember } from './members.js';
import { decodeMsgData, peekRoute, type MsgData } from './msgdata.js';
import {
  GroupCreatedTips,
  GroupDismissedTips,
  GroupInfoSetTips,
  GroupMemberInfoSetTips,
  GroupMutedTips,
  GroupOwnerTransferredTips,
  MemberEnterTips,
  MemberInvitedTips,
  MemberKickedTips,
  MemberQuitTips,
  NotificationElem,
  TipsError,
  type TipsGroupInfo,
  type TipsMember,
} from './tips.js';

/**
 * OpenIM notification (sdkws.MsgData bytes from `toRedis`) -> our events.
 * Pure: no I/O, no clock. The one input the bridge cannot map alone is a
 * 1501's initial member list (OpenIM announces only the owner): the result
 * then names a backfill for the caller (app.ts) to run against OpenIM's API.
 *
 * Event IDs derive from serverMsgID, so re-reading OpenIM's topic produces
 * the same IDs: `openim:<serverMsgID>` when the notification makes one event,
 * `openim:<serverMsgID>:<i>` (i from 0) when it makes several. A 1501 always
 * uses the indexed form: `:0` is its `group.created`, `:1`.. the backfilled
 * snapshot's parts, whether or not a backfill runs.
 *
 * `seq` = the notification's groupMemberVersion when it is > 0 and a safe
 * integer (1511 carries none; a version JSON rounded is no order).
 */

export const SESSION_GROUP = 3;
/** OpenIM: content types below NotificationBegin (1000) are chat (text, picture, ...). */
const NOTIFICATION_BEGIN = 1000;

export const ContentType = {
  GroupCreated: 1501,
  GroupInfoSet: 1502,
  JoinGroupApplication: 1503,
  MemberQuit: 1504,
  GroupApplicationAccepted: 1505,
  GroupApplicationRejected: 1506,
  GroupOwnerTransferred: 1507,
  MemberKicked: 1508,
  MemberInvited: 1509,
  MemberEnter: 1510,
  GroupDismissed: 1511,
  GroupMemberMuted: 1512,
  GroupMemberCancelMuted: 1513,
  GroupMuted: 1514,
  GroupCancelMuted: 1515,
  GroupMemberInfoSet: 1516,
  GroupMemberSetToAdmin: 1517,
  GroupMemberSetToOrdinary: 1518,
  GroupInfoSetAnnouncement: 1519,
  GroupInfoSetName: 1520,
} as const;

/**
 * Why a message makes no event. `member_detail`: 1512/1513 (member mute) and
 * 1516 (nickname, face, ex; also sent on user-profile updates) change member
 * details our read model does not keep; role changes arrive as 1517/1518.
 * `application`: 1503/1505/1506 are sent one-to-one; a group-session copy
 * changes no membership either (the accepted member arrives as 1509/1510).
 */
export const IGNORE_REASONS = ['not_group', 'chat', 'application', 'member_detail', 'other_notification'] as const;
export type IgnoreReason = (typeof IGNORE_REASONS)[number];

export interface BackfillRequest {
  groupID: string;
  /** The 1501's groupMemberVersion (a lower bound of any later version), when usable. */
  notificationSeq: number | undefined;
  notificationVersionID: string;
  /** Snapshot parts are `${eventIDBase}:${part}` (part from 1). */
  eventIDBase: string;
  occurredAt: number;
  operatorUserID: string;
}

export type Mapped =
  | { kind: 'ignored'; reason: IgnoreReason; contentType: number }
  | { kind: 'unreadable'; reason: string; contentType: number }
  | { kind: 'events'; contentType: number; groupID: string; events: GroupEvent[]; backfill?: BackfillRequest };

const MAPPED = new Set<number>([1501, 1502, 1504, 1507, 1508, 1509, 1510, 1511, 1514, 1515, 1517, 1518, 1519, 1520]);
const APPLICATIONS = new Set<number>([1503, 1505, 1506]);
const MEMBER_DETAIL = new Set<number>([1512, 1513, 1516]);

/** Which messages are worth a full decode. Cheap: reads two varints (msgdata.ts peekRoute). */
export function classify(sessionType: number, contentType: number): IgnoreReason | 'map' {
  if (sessionType !== SESSION_GROUP) return 'not_group';
  if (contentType < NOTIFICATION_BEGIN) return 'chat';
  if (MAPPED.has(contentType)) return 'map';
  if (APPLICATIONS.has(contentType)) return 'application';
  if (MEMBER_DETAIL.has(contentType)) return 'member_detail';
  return 'other_notification';
}

/** Kafka record value -> what the bridge does with it. Never throws. */
export function mapRecord(value: Uint8Array | null): Mapped {
  if (value === null) return { kind: 'unreadable', reason: 'empty value (tombstone)', contentType: 0 };
  let route;
  try {
    route = peekRoute(value);
  } catch (err) {
    return { kind: 'unreadable', reason: `not a protobuf MsgData: ${(err as Error).message}`, contentType: 0 };
  }
  const verdict = classify(route.sessionType, route.contentType);
  if (verdict !== 'map') return { kind: 'ignored', reason: verdict, contentType: route.contentType };
  let msg: MsgData;
  try {
    msg = decodeMsgData(value);
  } catch (err) {
    return { kind: 'unreadable', reason: `not a protobuf MsgData: ${(err as Error).message}`, contentType: route.contentType };
  }
  return mapNotification(msg);
}

/** A decoded group notification -> events. Never throws: what it cannot map is `unreadable`. */
export function mapNotification(msg: MsgData): Mapped {
  const contentType = msg.contentType;
  const verdict = classify(msg.sessionType, contentType);
  if (verdict !== 'map') return { kind: 'ignored', reason: verdict, contentType };
  try {
    const { groupID, events, backfill } = build(msg);
    for (const e of events) {
      const check = checkEvent(e);
      if (!check.ok) throw new Unreadable(`${e.type} would be invalid: ${check.reason}`);
    }
    return { kind: 'events', contentType, groupID, events, ...(backfill ? { backfill } : {}) };
  } catch (err) {
    if (err instanceof Unreadable) return { kind: 'unreadable', reason: `${contentType}: ${err.message}`, contentType };
    // A bug of ours must not wedge OpenIM's partition either: the record is
    // dead-lettered with the error, and stays in toRedis for a replay.
    return { kind: 'unreadable', reason: `${contentType}: bridge error: ${(err as Error).message}`, contentType };
  }
}

function tipsOf<T>(msg: MsgData, read: (v: unknown, path: string) => T): T {
  let elem: unknown;
  try {
    elem = JSON.parse(Buffer.from(msg.content.buffer, msg.content.byteOffset, msg.content.byteLength).toString('utf8'));
  } catch (err) {
    throw new Unreadable(`content is not JSON: ${(err as Error).message}`);
  }
  let detailText: string;
  try {
    detailText = NotificationElem(elem, '').detail;
  } catch {
    throw new Unreadable('content is not {"detail": "<tips JSON>"}');
  }
  let detail: unknown;
  try {
    detail = JSON.parse(detailText);
  } catch (err) {
    throw new Unreadable(`content.detail is not JSON: ${(err as Error).message}`);
  }
  try {
    return read(detail, '');
  } catch (err) {
    if (err instanceof TipsError) throw new Unreadable(`tips: ${err.message}`);
    throw err;
  }
}

function required<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Unreadable(`${what} is missing`);
  return value;
}

function userOf(m: TipsMember | null | undefined, what: string): string {
  const id = required(m, what).userID;
  if (!isValidId(id)) throw new Unreadable(`${what}.userID ${JSON.stringify(id)} is not a usable ID`);
  return id;
}

function seqOf(version: number): number | undefined {
  return version > 0 && Number.isSafeInteger(version) ? version : undefined;
}

interface Built {
  groupID: string;
  events: GroupEvent[];
  backfill?: BackfillRequest;
}

function build(msg: MsgData): Built {
  const serverMsgID = msg.serverMsgID;
  if (!serverMsgID) throw new Unreadable('serverMsgID is empty: no stable eventID');
  const baseID = `openim:${serverMsgID}`;

  // Every notification's tips carry `group`; its groupID must agree with the record's.
  const groupIDOf = (group: TipsGroupInfo | null | undefined): string => {
    const g = required(group, 'group');
    const id = msg.groupID || msg.recvID || g.groupID;
    if (!isValidId(id)) throw new Unreadable(`groupID ${JSON.stringify(id)} is not a usable ID`);
    if (g.groupID && g.groupID !== id) throw new Unreadable(`tips group ${g.groupID} is not the message's group ${id}`);
    return id;
  };
  const occurred = (operationTime: number) => {
    const t = operationTime > 0 ? operationTime : msg.sendTime > 0 ? msg.sendTime : msg.createTime;
    return Number.isSafeInteger(t) && t >= 0 ? t : 0;
  };
  const envelope = (groupID: string, occurredAt: number, seq: number | undefined) => ({
    version: 1 as const,
    groupID,
    occurredAt,
    operatorUserID: msg.sendID.length <= 64 ? msg.sendID : '',
    ...(seq === undefined ? {} : { seq }),
  });
  const single = (groupID: string, occurredAt: number, seq: number | undefined, event: Pick<GroupEvent, 'type' | 'data'>): Built => ({
    groupID,
    events: [{ eventID: baseID, ...envelope(groupID, occurredAt, seq), ...event } as GroupEvent],
  });
  const members = (list: TipsMember[], at: number, inviter = ''): MemberIn[] => {
    if (list.length === 0) throw new Unreadable('member list is empty');
    return uniqueMembers(list.map((m) => toMemberIn(m as OpenIMMember, at, inviter)));
  };

  switch (msg.contentType) {
    case ContentType.GroupCreated: {
      const t = tipsOf(msg, GroupCreatedTips);
      const groupID = groupIDOf(t.group);
      const group = t.group!;
      const at = occurred(t.operationTime);
      const seq = seqOf(t.groupMemberVersion);
      // memberList holds only the owner when the owner creates the group
      // (OPENIM.md §2 quirks), and never the app admin who created it: the
      // backfill reads the real list. The owner is added if absent.
      const listed = t.memberList.map((m) => toMemberIn(m as OpenIMMember, group.createTime || at));
      const ownerID = group.ownerUserID || t.groupOwnerUser?.userID || '';
      if (!isValidId(ownerID)) throw new Unreadable('group.ownerUserID is missing');
      if (!listed.some((m) => m.userID === ownerID)) {
        listed.unshift({ userID: ownerID, roleLevel: 100, joinTime: t.groupOwnerUser?.joinTime || group.createTime || at });
      }
      const created: GroupCreated = {
        eventID: `${baseID}:0`,
        type: 'group.created',
        ...envelope(groupID, at, seq),
        data: {
          group: { ...toGroupIn({ ...group, groupID }), ownerUserID: ownerID },
          members: uniqueMembers(listed.map((m) => (m.userID === ownerID ? { ...m, roleLevel: 100 } : m))),
        },
      };
      return {
        groupID,
        events: [created],
        backfill: {
          groupID,
          notificationSeq: seq,
          notificationVersionID: t.groupMemberVersionID,
          eventIDBase: baseID,
          occurredAt: at,
          operatorUserID: created.operatorUserID,
        },
      };
    }
    case ContentType.GroupInfoSet:
    case ContentType.GroupInfoSetAnnouncement:
    case ContentType.GroupInfoSetName: {
      // Each carries the whole group after the change; one SetGroupInfo may
      // send all three with one version, which then apply alike.
      const t = tipsOf(msg, GroupInfoSetTips);
      const groupID = groupIDOf(t.group);
      const g = t.group!;
      const patch = {
        groupName: g.groupName,
        notification: g.notification,
        introduction: g.introduction,
        faceURL: g.faceURL,
        ex: g.ex,
        needVerification: g.needVerification,
        lookMemberInfo: g.lookMemberInfo,
        applyMemberFriend: g.applyMemberFriend,
        notificationUpdateTime: g.notificationUpdateTime,
        notificationUserID: g.notificationUserID,
      } as InfoPatch;
      return single(groupID, occurred(0), seqOf(t.groupMemberVersion), { type: 'group.info_updated', data: patch });
    }
    case ContentType.MemberQuit: {
      const t = tipsOf(msg, MemberQuitTips);
      const groupID = groupIDOf(t.group);
      return single(groupID, occurred(t.operationTime), seqOf(t.groupMemberVersion), {
        type: 'member.left',
        data: { userIDs: [userOf(t.quitUser, 'quitUser')], reason: 'quit' },
      });
    }
    case ContentType.MemberKicked: {
      const t = tipsOf(msg, MemberKickedTips);
      const groupID = groupIDOf(t.group);
      if (t.kickedUserList.length === 0) throw new Unreadable('kickedUserList is empty');
      const userIDs = [...new Set(t.kickedUserList.map((m, i) => userOf(m, `kickedUserList[${i}]`)))];
      return single(groupID, occurred(t.operationTime), seqOf(t.groupMemberVersion), {
        type: 'member.left',
        data: { userIDs, reason: 'kicked' },
      });
    }
    case ContentType.GroupOwnerTransferred: {
      // oldGroupOwner is always ""; oldGroupOwnerInfo is the old owner with
      // the role the new owner had (20 or 60), which upstream gives them.
      const t = tipsOf(msg, GroupOwnerTransferredTips);
      const groupID = groupIDOf(t.group);
      const oldOwner = userOf(t.oldGroupOwnerInfo, 'oldGroupOwnerInfo');
      const newOwner = t.newGroupOwner?.userID || t.group!.ownerUserID;
      if (!isValidId(newOwner)) throw new Unreadable('newGroupOwner is missing');
      // The projection gives the old owner the role the new owner had, as
      // upstream does, so one event says it all (a second one at the same
      // seq would be stale for the old owner's membership).
      return single(groupID, occurred(t.operationTime), seqOf(t.groupMemberVersion), {
        type: 'group.owner_transferred',
        data: { oldOwnerUserID: oldOwner, newOwnerUserID: newOwner },
      });
    }
    case ContentType.MemberInvited: {
      const t = tipsOf(msg, MemberInvitedTips);
      const groupID = groupIDOf(t.group);
      const at = occurred(t.operationTime);
      const inviter = t.inviterUser?.userID || t.opUser?.userID || '';
      return single(groupID, at, seqOf(t.groupMemberVersion), {
        type: 'member.joined',
        data: { members: members(t.invitedUserList, at, inviter) },
      });
    }
    case ContentType.MemberEnter: {
      const t = tipsOf(msg, MemberEnterTips);
      const groupID = groupIDOf(t.group);
      const at = occurred(t.operationTime);
      return single(groupID, at, seqOf(t.groupMemberVersion), {
        type: 'member.joined',
        data: { members: members([required(t.entrantUser, 'entrantUser')], at) },
      });
    }
    case ContentType.GroupDismissed: {
      // No version in 1511, and its group.status is the value before the dismissal.
      const t = tipsOf(msg, GroupDismissedTips);
      const groupID = groupIDOf(t.group);
      return single(groupID, occurred(t.operationTime), undefined, { type: 'group.dismissed', data: {} });
    }
    case ContentType.GroupMuted:
    case ContentType.GroupCancelMuted: {
      const t = tipsOf(msg, GroupMutedTips);
      const groupID = groupIDOf(t.group);
      return single(groupID, occurred(t.operationTime), seqOf(t.groupMemberVersion), {
        type: 'group.status_changed',
        data: { status: msg.contentType === ContentType.GroupMuted ? 3 : 0 },
      });
    }
    case ContentType.GroupMemberSetToAdmin:
    case ContentType.GroupMemberSetToOrdinary: {
      const t = tipsOf(msg, GroupMemberInfoSetTips);
      const groupID = groupIDOf(t.group);
      return single(groupID, occurred(t.operationTime), seqOf(t.groupMemberVersion), {
        type: 'member.role_changed',
        data: {
          userID: userOf(t.changedUser, 'changedUser'),
          roleLevel: msg.contentType === ContentType.GroupMemberSetToAdmin ? 60 : 20,
        },
      });
    }
    default:
      throw new Unreadable(`content type ${msg.contentType} has no mapping`);
  }
}
