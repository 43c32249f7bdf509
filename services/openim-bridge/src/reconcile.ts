import { INFO_PATCH_FIELDS, type GroupDismissed } from '@imgroups/contracts';
import { keyspace, masters, ReadModel, type RedisClient } from '@imgroups/read-model';
import type { OpenIMGroupInfo } from './members.js';

/**
 * Reconciliation: what OpenIM has against what our read model shows, for the
 * groups we know (and, from an export, the groups we miss). It catches what
 * notifications never say: a dismissal with deleteMember=true (OpenIM sends
 * nothing), notifications OpenIM lost (best-effort queues), and any drift.
 *
 * Our side is read through @imgroups/read-model's public API only (read-only).
 * The fix is published, never written to Redis: `group.dismissed` for a group
 * OpenIM dismissed or deleted (the projection applies it today), else a
 * `group.snapshot` of OpenIM's state at its version (applied once the
 * projection speaks v1.1; its `seq` keeps it from overwriting newer changes).
 */

export interface OurGroup {
  groupID: string;
  status: number;
  ownerUserID: string;
  createTime: number;
  /** Editable fields, as our card holds them. */
  fields: Record<string, unknown>;
  /** userID -> roleLevel. */
  members: Map<string, number>;
}

export interface TheirGroup {
  /** undefined: OpenIM no longer has the group. */
  info: OpenIMGroupInfo | undefined;
  /** userID -> roleLevel, or only the IDs (roles unknown: -1) when read cheaply. */
  members: Map<string, number>;
}

export type FindingKind = 'dismissed_without_notification' | 'deleted' | 'status' | 'owner' | 'info' | 'members' | 'roles' | 'missing';

export interface Finding {
  groupID: string;
  kind: FindingKind;
  detail: string;
}

/** Editable fields, compared one by one: the group's own info. */
const COMPARED_FIELDS = INFO_PATCH_FIELDS;

const sample = (ids: string[]) => `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, … (${ids.length})` : ''}`;

/** Pure: the differences between our view of a group and OpenIM's. */
export function compareGroup(ours: OurGroup | undefined, theirs: TheirGroup, groupID: string): Finding[] {
  const info = theirs.info;
  if (!ours) {
    if (!info || info.status === 2) return [];
    return [{ groupID, kind: 'missing', detail: `OpenIM has the group (${theirs.members.size} members); we do not` }];
  }
  if (ours.status === 2) return []; // dismissed is final: OpenIM refuses every later change too
  if (!info) return [{ groupID, kind: 'deleted', detail: 'OpenIM no longer has the group' }];
  if (info.status === 2) return [{ groupID, kind: 'dismissed_without_notification', detail: 'OpenIM dismissed the group; we still list it' }];
  const out: Finding[] = [];
  if (info.status !== ours.status) out.push({ groupID, kind: 'status', detail: `status ${ours.status} here, ${info.status} in OpenIM` });
  if (info.ownerUserID && info.ownerUserID !== ours.ownerUserID) {
    out.push({ groupID, kind: 'owner', detail: `owner ${ours.ownerUserID} here, ${info.ownerUserID} in OpenIM` });
  }
  const fields = COMPARED_FIELDS.filter((f) => ours.fields[f] !== undefined && ours.fields[f] !== info[f]);
  if (fields.length) out.push({ groupID, kind: 'info', detail: `differs: ${fields.join(', ')}` });
  const extra = [...ours.members.keys()].filter((id) => !theirs.members.has(id));
  const absent = [...theirs.members.keys()].filter((id) => !ours.members.has(id));
  if (extra.length || absent.length) {
    out.push({
      groupID,
      kind: 'members',
      detail: [extra.length ? `left in OpenIM: ${sample(extra)}` : '', absent.length ? `joined in OpenIM: ${sample(absent)}` : ''].filter(Boolean).join('; '),
    });
  } else {
    const roles = [...theirs.members].filter(([id, role]) => role !== -1 && ours.members.get(id) !== role).map(([id]) => id);
    if (roles.length) out.push({ groupID, kind: 'roles', detail: `roles differ: ${sample(roles)}` });
  }
  return out;
}

/** The v1 event that settles a dismissal today (no seq: 1511 carries none either). */
export function dismissal(groupID: string, runID: string, now: number): GroupDismissed {
  return { eventID: `openim-reconcile:${groupID}:dismissed:${runID}`, type: 'group.dismissed', version: 1, groupID, occurredAt: now, operatorUserID: '', data: {} };
}

/** Our read model, read-only: the groups it knows and their state. */
export class OurSide {
  private readonly model: ReadModel;
  constructor(
    private readonly redis: RedisClient,
    private readonly root: string,
  ) {
    this.model = new ReadModel(redis, { root, dedupeWindow: 1 });
  }

  /** Every groupID of the active generation, in SCAN batches (on every master of a Redis Cluster). */
  async *groupIDs(batch = 500): AsyncGenerator<string[]> {
    const gen = await this.model.generations.active();
    if (gen === null) return;
    const ks = keyspace(this.root);
    const pattern = ks.entity('groupInfo', gen, '*');
    const [prefix, suffix] = pattern.split('*') as [string, string];
    for (const node of masters(this.redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', batch);
        cursor = next;
        const ids = keys.map((k) => k.slice(prefix.length, k.length - suffix.length));
        if (ids.length) yield ids;
      } while (cursor !== '0');
    }
  }

  async groups(groupIDs: string[]): Promise<Map<string, OurGroup>> {
    const out = new Map<string, OurGroup>();
    if (groupIDs.length === 0) return out;
    // One generation for the cards and their members.
    const at = await this.model.current();
    const { groupsJson } = await this.model.readGroupsInfo(groupIDs, at);
    const cards = groupsJson ? (JSON.parse(`[${groupsJson}]`) as (OpenIMGroupInfo & { memberCount: number })[]) : [];
    for (const card of cards) {
      const members = new Map<string, number>();
      for (let offset = 0; card.status !== 2 && offset < card.memberCount; offset += 1000) {
        const page = await this.model.readMemberPage(card.groupID, { userID: '', isAdmin: true }, offset, 1000, at);
        if (page.outcome !== 'ok' || !page.membersJson) break;
        for (const m of JSON.parse(`[${page.membersJson}]`) as { userID: string; roleLevel: number }[]) members.set(m.userID, m.roleLevel);
      }
      const fields: Record<string, unknown> = {};
      for (const f of COMPARED_FIELDS) fields[f] = card[f];
      out.set(card.groupID, { groupID: card.groupID, status: card.status, ownerUserID: card.ownerUserID, createTime: card.createTime, fields, members });
    }
    return out;
  }
}

/** Members as the export or the API lists them -> the comparison's map. */
export function roleMap(members: readonly { userID: string; roleLevel: number }[]): Map<string, number> {
  return new Map(members.map((m) => [m.userID, m.roleLevel]));
}
