import { z } from 'zod';
import { Id, Int32, INT32_MAX, isValidId } from './ids.js';

/** HTTP side of CONTRACT.md §1. Requests are strict: unknown fields are an ArgsError. */

export const DEFAULT_MAX_SHOW_NUMBER = 1000;

export function Pagination(maxShowNumber = DEFAULT_MAX_SHOW_NUMBER) {
  return z.strictObject({
    pageNumber: Int32.min(1, 'must be >= 1 (pages are 1-based)'),
    showNumber: Int32.min(0, 'must be >= 0').max(maxShowNumber, `must be <= ${maxShowNumber}`),
  });
}

/**
 * A user or group ID in a request: a valid key part (ids.ts) and well-formed
 * Unicode. A lone UTF-16 surrogate (JSON `"\ud800"`) would reach Redis as
 * U+FFFD and name another ID, so it is refused like any other bad ID.
 */
const LONE_SURROGATE = /\p{Cs}/u;
export const RequestId = Id.refine((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode (no lone surrogate)').meta({
  description: '1-64 characters; no "{", "}", ":", control characters or lone surrogates (IDs are part of Redis keys)',
  pattern: '^[^{}:\\u0000-\\u001f\\u007f]+$',
});

export function GetJoinedGroupListReq(maxShowNumber = DEFAULT_MAX_SHOW_NUMBER) {
  return z.strictObject({
    fromUserID: RequestId,
    pagination: Pagination(maxShowNumber),
  });
}
export type GetJoinedGroupListReq = z.infer<ReturnType<typeof GetJoinedGroupListReq>>;

/** What RequestId accepts, as a plain predicate. */
export function isRequestId(s: string): boolean {
  return isValidId(s) && !LONE_SURROGATE.test(s);
}

const hasOwn = Object.prototype.hasOwnProperty;
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const isInt32In = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * GetJoinedGroupListReq's accepted bodies, checked by hand: the hot route's
 * fast path (zod's parse was ~5% of its CPU). Returns the request when the
 * body is one the schema accepts, else undefined, and the caller runs the
 * schema, whose issues name what is wrong. It must never accept what the
 * schema refuses, nor refuse what it accepts: api.unit.spec.ts checks both
 * directions over generated bodies.
 */
export function quickJoinedGroupListReq(body: unknown, maxShowNumber = DEFAULT_MAX_SHOW_NUMBER): GetJoinedGroupListReq | undefined {
  if (!isPlainObject(body)) return undefined;
  let keys = 0;
  for (const k in body) {
    if (!hasOwn.call(body, k)) return undefined;
    keys++;
  }
  const { fromUserID, pagination } = body;
  if (keys !== 2 || typeof fromUserID !== 'string' || !isPlainObject(pagination) || !isRequestId(fromUserID)) return undefined;
  let pkeys = 0;
  for (const k in pagination) {
    if (!hasOwn.call(pagination, k)) return undefined;
    pkeys++;
  }
  const { pageNumber, showNumber } = pagination;
  if (pkeys !== 2 || !isInt32In(pageNumber, 1, INT32_MAX) || !isInt32In(showNumber, 0, Math.min(maxShowNumber, INT32_MAX))) {
    return undefined;
  }
  return { fromUserID, pagination: { pageNumber, showNumber } };
}

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

// ---- the related read APIs (CONTRACT.md §1, "Related read APIs") -------------

export const DEFAULT_MAX_GROUP_IDS = 1000;
const Uint32 = z.number().int().min(0).max(2 ** 32 - 1);

export function GetGroupsInfoReq(maxGroupIDs = DEFAULT_MAX_GROUP_IDS) {
  return z.strictObject({
    groupIDs: z
      .array(RequestId)
      .min(1, 'must not be empty')
      .max(maxGroupIDs, `must hold at most ${maxGroupIDs} IDs`),
  });
}
export type GetGroupsInfoReq = z.infer<ReturnType<typeof GetGroupsInfoReq>>;

export const GetGroupsInfoResp = z.object({ groupInfos: z.array(GroupInfo) });

/** Field order is the wire order (upstream sdkws.GroupMemberFullInfo). */
export const GROUP_MEMBER_FIELDS = [
  'groupID',
  'userID',
  'roleLevel',
  'joinTime',
  'nickname',
  'faceURL',
  'appMangerLevel',
  'joinSource',
  'operatorUserID',
  'ex',
  'muteEndTime',
  'inviterUserID',
] as const;

export const GroupMemberFullInfo = z.object({
  groupID: z.string(),
  userID: z.string(),
  roleLevel: Int32,
  joinTime: z.number().int(),
  nickname: z.string(),
  faceURL: z.string(),
  appMangerLevel: Int32,
  joinSource: Int32,
  operatorUserID: z.string(),
  ex: z.string(),
  muteEndTime: z.number().int(),
  inviterUserID: z.string(),
});
export type GroupMemberFullInfo = z.infer<typeof GroupMemberFullInfo>;

export function GetGroupMemberListReq(maxShowNumber = DEFAULT_MAX_SHOW_NUMBER) {
  return z.strictObject({
    groupID: RequestId,
    pagination: Pagination(maxShowNumber),
  });
}
export type GetGroupMemberListReq = z.infer<ReturnType<typeof GetGroupMemberListReq>>;

export const GetGroupMemberListResp = z.object({
  total: Uint32,
  members: z.array(GroupMemberFullInfo),
});

export const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Upstream's uint64: a JSON integer from 0 to 2^64-1, never a string or a
 * fraction. Beyond 2^53 a JSON number only survives as a bigint, so the HTTP
 * layer hands such values over as bigints (query-api json.ts); the output is
 * always a bigint.
 */
export const Uint64 = z
  .custom<bigint | number>(
    (v) =>
      (typeof v === 'bigint' && v >= 0n && v <= UINT64_MAX) ||
      (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0),
    `must be an unsigned 64-bit integer (0 to ${UINT64_MAX})`,
  )
  .transform((v) => BigInt(v))
  .meta({ type: 'integer', format: 'uint64', minimum: 0 });

export const GetFullJoinGroupIDsReq = z.strictObject({
  userID: RequestId,
  // Upstream omits a zero idHash (protobuf JSON, omitempty): absent means 0.
  idHash: Uint64.optional(),
});
export type GetFullJoinGroupIDsReq = z.infer<typeof GetFullJoinGroupIDsReq>;

export const GetFullJoinGroupIDsResp = z.object({
  version: z.number().int().min(0),
  versionID: z.string(),
  equal: z.boolean(),
  groupIDs: z.array(z.string()),
});
export type GetFullJoinGroupIDsResp = z.infer<typeof GetFullJoinGroupIDsResp>;

export const GetAdminTokenReq = z.strictObject({
  secret: z.string().min(1, 'must not be empty'),
  userID: RequestId,
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
