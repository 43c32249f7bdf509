import { z } from 'zod';
import { Id, Int32, INT32_MAX } from './ids.js';

/** HTTP side of CONTRACT.md §1. Requests are strict: unknown fields are an ArgsError. */

export const DEFAULT_MAX_SHOW_NUMBER = 1000;

export function Pagination(maxShowNumber = DEFAULT_MAX_SHOW_NUMBER) {
  return z.strictObject({
    pageNumber: Int32.min(1, 'must be >= 1 (pages are 1-based)'),
    showNumber: Int32.min(0, 'must be >= 0').max(maxShowNumber, `must be <= ${maxShowNumber}`),
  });
}

export function GetJoinedGroupListReq(maxShowNumber = DEFAULT_MAX_SHOW_NUMBER) {
  return z.strictObject({
    fromUserID: Id,
    pagination: Pagination(maxShowNumber),
  });
}
export type GetJoinedGroupListReq = z.infer<ReturnType<typeof GetJoinedGroupListReq>>;

/** Field order is the wire order (upstream sdkws.GroupInfo). */
export const GROUP_INFO_FIELDS = [
  'groupID',
  'groupName',
  'notification',
  'introduction',
  'faceURL',
  'ownerUserID',
  'createTime',
  'memberCount',
  'ex',
  'status',
  'creatorUserID',
  'groupType',
  'needVerification',
  'lookMemberInfo',
  'applyMemberFriend',
  'notificationUpdateTime',
  'notificationUserID',
] as const;
export type GroupInfoField = (typeof GROUP_INFO_FIELDS)[number];

export const GroupInfo = z.object({
  groupID: z.string(),
  groupName: z.string(),
  notification: z.string(),
  introduction: z.string(),
  faceURL: z.string(),
  ownerUserID: z.string(),
  createTime: z.number().int(),
  memberCount: z.number().int().min(0).max(2 ** 32 - 1),
  ex: z.string(),
  status: Int32,
  creatorUserID: z.string(),
  groupType: Int32,
  needVerification: Int32,
  lookMemberInfo: Int32,
  applyMemberFriend: Int32,
  notificationUpdateTime: z.number().int(),
  notificationUserID: z.string(),
});
export type GroupInfo = z.infer<typeof GroupInfo>;

/** Which GroupInfo fields are JSON numbers; the rest are strings. */
export const NUMERIC_GROUP_FIELDS: ReadonlySet<GroupInfoField> = new Set([
  'createTime',
  'memberCount',
  'status',
  'groupType',
  'needVerification',
  'lookMemberInfo',
  'applyMemberFriend',
  'notificationUpdateTime',
]);

export const GetJoinedGroupListResp = z.object({
  total: z.number().int().min(0).max(2 ** 32 - 1),
  groups: z.array(GroupInfo),
});
export type GetJoinedGroupListResp = z.infer<typeof GetJoinedGroupListResp>;

export const GetAdminTokenReq = z.strictObject({
  secret: z.string().min(1, 'must not be empty'),
  userID: Id,
});
export const GetAdminTokenResp = z.object({
  token: z.string(),
  expireTimeSeconds: z.number().int(),
});

export function Envelope<T extends z.ZodType>(data: T) {
  return z.object({
    errCode: z.number().int(),
    errMsg: z.string(),
    errDlt: z.string(),
    data: data.optional(),
  });
}
export const ErrorEnvelope = z.object({
  errCode: z.number().int(),
  errMsg: z.string(),
  errDlt: z.string(),
});

export { INT32_MAX };
