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
 * The hot path's body: each card is a group's GroupInfo JSON, serialized at
 * write time and sent as Redis gave it (Buffers, never decoded to strings),
 * so nothing is parsed, serialized or even UTF-8 converted per request.
 */
export function joinedGroupListBody(total: number, cards: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`{"errCode":0,"errMsg":"","errDlt":"","data":{"total":${total},"groups":[`)];
  for (let i = 0; i < cards.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(cards[i]!);
  }
  parts.push(CLOSE_GROUPS);
  return Buffer.concat(parts);
}
const COMMA = Buffer.from(',');
const CLOSE_GROUPS = Buffer.from(']}}');

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
