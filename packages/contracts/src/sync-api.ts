import { z } from 'zod';
import { DEFAULT_MAX_GROUP_IDS, GroupInfo, GroupMemberFullInfo, RequestId, Uint64 } from './api.js';

/**
 * The OpenIM SDK's incremental group sync (CONTRACT.md §1, OPENIM.md §1):
 * a client sends the versionID and version it stored and gets what changed
 * since, or `full`. Upstream's protobuf JSON omits empty and zero fields, so
 * `versionID` and `version` may be absent ('' and 0: a client that never
 * synced).
 */

const VersionID = z.string().max(64, 'must be at most 64 characters').default('');
const Version = Uint64.default(0n);

export const GetIncrementalJoinGroupsReq = z.strictObject({
  userID: RequestId,
  versionID: VersionID,
  version: Version,
});
export type GetIncrementalJoinGroupsReq = z.infer<typeof GetIncrementalJoinGroupsReq>;

const Incremental = {
  version: z.number().int().min(0),
  versionID: z.string(),
  full: z.boolean(),
  sortVersion: z.number().int().min(0),
};

export const GetIncrementalJoinGroupsResp = z.object({
  ...Incremental,
  delete: z.array(z.string()),
  insert: z.array(GroupInfo),
  update: z.array(GroupInfo),
});

export const GetIncrementalGroupMembersReq = z.strictObject({
  groupID: RequestId,
  versionID: VersionID,
  version: Version,
});
export type GetIncrementalGroupMembersReq = z.infer<typeof GetIncrementalGroupMembersReq>;

export const GetIncrementalGroupMembersResp = z.object({
  ...Incremental,
  delete: z.array(z.string()),
  insert: z.array(GroupMemberFullInfo),
  update: z.array(GroupMemberFullInfo),
  group: GroupInfo.nullable(),
});

export function GetIncrementalGroupMembersBatchReq(maxGroups = DEFAULT_MAX_GROUP_IDS) {
  return z.strictObject({
    userID: RequestId,
    reqList: z
      .array(z.strictObject({ groupID: RequestId, versionID: VersionID, version: Version }))
      .max(maxGroups, `must hold at most ${maxGroups} groups`),
  });
}
export type GetIncrementalGroupMembersBatchReq = z.infer<ReturnType<typeof GetIncrementalGroupMembersBatchReq>>;

export const GetIncrementalGroupMembersBatchResp = z.object({
  respList: z.record(z.string(), GetIncrementalGroupMembersResp),
});

export const GetFullGroupMemberUserIDsReq = z.strictObject({
  groupID: RequestId,
  idHash: Uint64.optional(),
});
export type GetFullGroupMemberUserIDsReq = z.infer<typeof GetFullGroupMemberUserIDsReq>;

export const GetFullGroupMemberUserIDsResp = z.object({
  version: z.number().int().min(0),
  versionID: z.string(),
  equal: z.boolean(),
  userIDs: z.array(z.string()),
});
