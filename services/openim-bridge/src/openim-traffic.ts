import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import { encodeMsgData, type MsgData } from './msgdata.js';
import { SESSION_GROUP } from './mapping.js';
import type { OpenIMGroupInfo } from './members.js';
import type { TipsMember } from './tips.js';

/**
 * OpenIM-shaped `toRedis` records, built from proto/openim-msgdata.proto the
 * way OpenIM writes them (OPENIM.md §2): protobuf MsgData, content
 * `{"detail":"<tips>"}`, tips JSON as Go's encoding/json prints it (every
 * field, zero values, `null` for absent messages and lists, `<>&` escaped).
 * For the tests, the bench, and anyone who wants to feed a local bridge.
 */

export const SESSION_SINGLE = 1;
export const MSG_FROM_USER = 100;
export const MSG_FROM_SYSTEM = 200;
export const CONTENT_TEXT = 101;

/** Go's encoding/json escapes these for HTML safety; JSON.stringify does not. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A serverMsgID as OpenIM makes it: md5 hex. */
export function serverMsgID(seed: string): string {
  return createHash('md5').update(seed).digest('hex');
}

export function goGroupInfo(g: Partial<OpenIMGroupInfo & { memberCount: number }> & { groupID: string }): Record<string, unknown> {
  return {
    groupID: g.groupID,
    groupName: g.groupName ?? '',
    notification: g.notification ?? '',
    introduction: g.introduction ?? '',
    faceURL: g.faceURL ?? '',
    ownerUserID: g.ownerUserID ?? '',
    createTime: g.createTime ?? 0,
    memberCount: g.memberCount ?? 0,
    ex: g.ex ?? '',
    status: g.status ?? 0,
    creatorUserID: g.creatorUserID ?? '',
    groupType: g.groupType ?? 2,
    needVerification: g.needVerification ?? 0,
    lookMemberInfo: g.lookMemberInfo ?? 0,
    applyMemberFriend: g.applyMemberFriend ?? 0,
    notificationUpdateTime: g.notificationUpdateTime ?? 0,
    notificationUserID: g.notificationUserID ?? '',
  };
}

export function goMember(m: Partial<TipsMember> & { userID: string }): Record<string, unknown> {
  return {
    groupID: m.groupID ?? '',
    userID: m.userID,
    roleLevel: m.roleLevel ?? 20,
    joinTime: m.joinTime ?? 0,
    nickname: m.nickname ?? '',
    faceURL: m.faceURL ?? '',
    appMangerLevel: m.appMangerLevel ?? 0,
    joinSource: m.joinSource ?? 0,
    operatorUserID: m.operatorUserID ?? '',
    ex: m.ex ?? '',
    muteEndTime: m.muteEndTime ?? 0,
    inviterUserID: m.inviterUserID ?? '',
  };
}

/** OpenIM's synthetic opUser for an app admin: not a member of the group. */
export function goAppAdmin(userID: string, groupID: string): Record<string, unknown> {
  return goMember({ userID, groupID, roleLevel: 60, appMangerLevel: 2 });
}

export interface NotificationOptions {
  groupID: string;
  contentType: number;
  /** The tips object, written as given (use goGroupInfo/goMember for Go's every-field shape). */
  tips: Record<string, unknown>;
  sendID?: string;
  sendTime?: number;
  serverMsgID?: string;
}

/** One group notification as OpenIM writes it to toRedis. */
export function notificationRecord(o: NotificationOptions): { key: string; value: Buffer } {
  const sendTime = o.sendTime ?? 1_700_000_000_000;
  const content = goJson({ detail: goJson(o.tips) });
  const value = upstreamShaped({
    sendID: o.sendID ?? 'imAdmin',
    recvID: o.groupID,
    groupID: o.groupID,
    clientMsgID: serverMsgID(`client:${o.serverMsgID ?? ''}:${sendTime}`),
    serverMsgID: o.serverMsgID ?? serverMsgID(`${o.groupID}:${o.contentType}:${sendTime}:${goJson(o.tips)}`),
    sessionType: SESSION_GROUP,
    msgFrom: MSG_FROM_SYSTEM,
    contentType: o.contentType,
    content: Buffer.from(content),
    sendTime,
    createTime: sendTime,
  }, { platformID: 0, nickname: '', faceURL: '' });
  return { key: o.groupID, value };
}

/**
 * A chat message: in a group (key = groupID) or one-to-one (key = the two
 * user IDs sorted and joined by "_", as OpenIM keys them).
 */
export function chatRecord(o: { from: string; groupID?: string; to?: string; text: string; sendTime?: number }): { key: string; value: Buffer } {
  const sendTime = o.sendTime ?? 1_700_000_000_000;
  const group = o.groupID !== undefined;
  const to = o.to ?? '';
  const value = upstreamShaped({
    sendID: o.from,
    recvID: group ? o.groupID! : to,
    groupID: group ? o.groupID! : '',
    clientMsgID: serverMsgID(`c:${o.from}:${sendTime}:${o.text}`),
    serverMsgID: serverMsgID(`s:${o.from}:${sendTime}:${o.text}`),
    sessionType: group ? SESSION_GROUP : SESSION_SINGLE,
    msgFrom: MSG_FROM_USER,
    contentType: CONTENT_TEXT,
    content: Buffer.from(goJson({ content: o.text })),
    sendTime,
    createTime: sendTime,
  }, { platformID: 5, nickname: `user ${o.from}`, faceURL: `https://example.com/${o.from}.png` });
  return { key: group ? o.groupID! : [o.from, to].sort().join('_'), value };
}

/**
 * MsgData bytes in upstream's field order, with the fields our .proto subset
 * leaves out (senderPlatformID 6, senderNickname 7, senderFaceURL 8, status
 * 17, isRead 18, options 19, offlinePushInfo 20, attachedInfo 22) filled as
 * OpenIM fills them: what the bridge must skip. Protobuf encodings
 * concatenate, so the subset's encoding is split around them.
 */
function upstreamShaped(fields: Partial<MsgData>, sender: { platformID: number; nickname: string; faceURL: string }): Buffer {
  const { sendID, recvID, groupID, clientMsgID, serverMsgID: smid, ...rest } = fields;
  const head = encodeMsgData({ sendID, recvID, groupID, clientMsgID, serverMsgID: smid });
  const senderFields = protobuf.Writer.create()
    .uint32((6 << 3) | 0).int32(sender.platformID)
    .uint32((7 << 3) | 2).string(sender.nickname)
    .uint32((8 << 3) | 2).string(sender.faceURL)
    .finish();
  const body = encodeMsgData(rest);
  const tail = protobuf.Writer.create();
  tail.uint32((17 << 3) | 0).int32(2); // status: sent
  for (const [k, v] of [['history', true], ['persistent', true], ['offlinePush', true], ['unreadCount', true]] as const) {
    tail.uint32((19 << 3) | 2).fork().uint32((1 << 3) | 2).string(k).uint32((2 << 3) | 0).bool(v).ldelim();
  }
  tail.uint32((20 << 3) | 2).fork().uint32((1 << 3) | 2).string('You have a new message').ldelim();
  tail.uint32((22 << 3) | 2).string('{"groupHasReadInfo":{"hasReadCount":0,"groupMemberCount":0}}');
  return Buffer.concat([head, senderFields, body, tail.finish()]);
}

/** The version pair every notification but 1511 carries. */
export function goVersion(version: number, versionID = '6650a1b2c3d4e5f601234567'): Record<string, unknown> {
  return { groupMemberVersion: version, groupMemberVersionID: versionID };
}
