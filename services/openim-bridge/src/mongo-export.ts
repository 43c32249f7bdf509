import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { OpenIMGroupInfo, OpenIMMember } from './members.js';

/**
 * `mongoexport --jsonFormat=relaxed` files of OpenIM's collections (OPENIM.md
 * §4): one JSON document per line. Dates are `{"$date":"<ISO>"}` for years
 * 1970-9999, else `{"$date":{"$numberLong":"<ms>"}}` (OpenIM's zero time,
 * year 1, is one of those: it reads as 0 here); `_id` is `{"$oid":...}`.
 * Files are streamed line by line; nothing needs to fit in one string.
 */

type Doc = Record<string, unknown>;

/** Relaxed Extended JSON value -> plain value: dates to ms, numbers wrapped in $number* to numbers, $oid to its hex. */
export function fromExtendedJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromExtendedJson);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Doc;
  if ('$date' in o) {
    const d = o.$date;
    if (typeof d === 'string') return Date.parse(d);
    if (typeof d === 'number') return d;
    return Number((d as Doc)?.$numberLong);
  }
  if ('$oid' in o) return String(o.$oid);
  for (const k of ['$numberLong', '$numberInt', '$numberDouble', '$numberDecimal']) if (k in o) return Number(o[k]);
  const out: Doc = {};
  for (const [k, val] of Object.entries(o)) out[k] = fromExtendedJson(val);
  return out;
}

/** One line -> a plain document, or undefined for a blank line. Throws on a line that is not JSON. */
export function parseExportLine(line: string): Doc | undefined {
  const t = line.trim();
  if (t === '') return undefined;
  return fromExtendedJson(JSON.parse(t)) as Doc;
}

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v as number | boolean | bigint);
const int = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0);
/** Times before 1970 (OpenIM's zero time is year 1) are "unset": 0. */
const millis = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0);

/** A `group` document -> GroupInfo (its owner comes from the members: role_level 100). */
export function groupFromDoc(d: Doc): OpenIMGroupInfo {
  return {
    groupID: str(d.group_id),
    groupName: str(d.group_name),
    notification: str(d.notification),
    introduction: str(d.introduction),
    faceURL: str(d.face_url),
    ownerUserID: '',
    createTime: millis(d.create_time),
    ex: str(d.ex),
    status: int(d.status),
    creatorUserID: str(d.creator_user_id),
    groupType: int(d.group_type),
    needVerification: int(d.need_verification),
    lookMemberInfo: int(d.look_member_info),
    applyMemberFriend: int(d.apply_member_friend),
    notificationUpdateTime: millis(d.notification_update_time),
    notificationUserID: str(d.notification_user_id),
  };
}

export function memberFromDoc(d: Doc): OpenIMMember & { groupID: string } {
  return {
    groupID: str(d.group_id),
    userID: str(d.user_id),
    roleLevel: int(d.role_level),
    joinTime: millis(d.join_time),
    joinSource: int(d.join_source),
    inviterUserID: str(d.inviter_user_id),
  };
}

/** A `group_member_version` document -> the group and its member version. */
export function versionFromDoc(d: Doc): { groupID: string; version: number; versionID: string } {
  return { groupID: str(d.d_id), version: typeof d.version === 'number' ? d.version : Number(d.version), versionID: str(d._id) };
}

/** Each document of a file, streamed; `lineNo` for error messages. */
export async function* readExport(file: string): AsyncGenerator<{ doc: Doc; lineNo: number }> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    let doc: Doc | undefined;
    try {
      doc = parseExportLine(line);
    } catch (err) {
      throw new Error(`${file}:${lineNo}: not JSON: ${(err as Error).message}`, { cause: err });
    }
    if (doc) yield { doc, lineNo };
  }
}
