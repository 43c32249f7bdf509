import { ErrMsg, type ErrCode } from '@imgroups/contracts';

/**
 * The OpenIM response envelope, `{"errCode","errMsg","errDlt","data"}` in that
 * order, built as strings: routes send these with this content type and
 * fastify passes them through without serializing again.
 */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export function okEnvelope(data: unknown): string {
  return `{"errCode":0,"errMsg":"","errDlt":"","data":${JSON.stringify(data)}}`;
}

/**
 * The hot path's body: `groupsJson` is the page's GroupInfo objects, already
 * serialized at write time and comma-joined by the read model, so nothing is
 * parsed or serialized per request.
 */
export function joinedGroupListEnvelope(total: number, groupsJson: string): string {
  return `{"errCode":0,"errMsg":"","errDlt":"","data":{"total":${total},"groups":[${groupsJson}]}}`;
}

/** Errors carry no `data` (upstream omits it). */
export function errorEnvelope(code: ErrCode, errDlt: string): string {
  return JSON.stringify({ errCode: code, errMsg: ErrMsg[code], errDlt });
}

/** get_groups_info's body: the cards as the read model joined them. */
export function groupsInfoEnvelope(groupsJson: string): string {
  return `{"errCode":0,"errMsg":"","errDlt":"","data":{"groupInfos":[${groupsJson}]}}`;
}

/** get_group_member_list's body: the members as the read model serialized them. */
export function memberListEnvelope(total: number, membersJson: string): string {
  return `{"errCode":0,"errMsg":"","errDlt":"","data":{"total":${total},"members":[${membersJson}]}}`;
}
