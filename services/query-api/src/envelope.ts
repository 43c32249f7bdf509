import { ErrMsg, type ErrCode } from '@imgroups/contracts';

/**
 * The OpenIM response envelope, `{"errCode","errMsg","errDlt","data"}` in that
 * order: every answer's body is built here, and nowhere else. Built as
 * strings (the hot page as Buffers): routes send these with this content
 * type and fastify passes them through without serializing again.
 */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** How every success begins; its `data` and one closing brace follow. */
const OK_HEAD = '{"errCode":0,"errMsg":"","errDlt":"","data":';

export function okEnvelope(data: unknown): string {
  return `${OK_HEAD}${JSON.stringify(data)}}`;
}

/**
 * The hot path's body: each card is a group's GroupInfo JSON, serialized at
 * write time and sent as Redis gave it (Buffers, never decoded to strings),
 * so nothing is parsed, serialized or even UTF-8 converted per request.
 */
export function joinedGroupListBody(total: number, cards: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`${OK_HEAD}{"total":${total},"groups":[`)];
  for (let i = 0; i < cards.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(cards[i]!);
  }
  parts.push(CLOSE_GROUPS);
  return Buffer.concat(parts);
}
const COMMA = Buffer.from(',');
const CLOSE_GROUPS = Buffer.from(']}}');

/** get_groups_info's body: the cards as the read model joined them. */
export function groupsInfoEnvelope(groupsJson: string): string {
  return `${OK_HEAD}{"groupInfos":[${groupsJson}]}}`;
}

/** get_group_member_list's body: the members as the read model serialized them. */
export function memberListEnvelope(total: number, membersJson: string): string {
  return `${OK_HEAD}{"total":${total},"members":[${membersJson}]}}`;
}

/** Errors carry no `data` (upstream omits it). */
export function errorEnvelope(code: ErrCode, errDlt: string): string {
  return JSON.stringify({ errCode: code, errMsg: ErrMsg[code], errDlt });
}

/** A success whose `data` is JSON already (the sync routes assemble it from the read model's pieces). */
export function dataEnvelope(dataJson: string): string {
  return `${OK_HEAD}${dataJson}}`;
}

/** One incremental answer (join groups, or one group's members) as `data` JSON; `group` only for members. */
export function incrementalJson(a: {
  version: number;
  versionID: string;
  full: boolean;
  deleted: readonly string[];
  insertedJson: string;
  updatedJson: string;
  sortVersion: number;
  group?: string | null;
}): string {
  const group = a.group === undefined ? '' : `,"group":${a.group ?? 'null'}`;
  return (
    `{"version":${a.version},"versionID":${JSON.stringify(a.versionID)},"full":${a.full},` +
    `"delete":${JSON.stringify(a.deleted)},"insert":[${a.insertedJson}],"update":[${a.updatedJson}]${group},"sortVersion":${a.sortVersion}}`
  );
}
