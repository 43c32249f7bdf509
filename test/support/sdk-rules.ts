import type { ReferenceModel } from '@imgroups/read-model/test-helpers';

/**
 * When the sync routes must answer `full`, derived from the rules alone
 * (docs/http-api.md "Group sync"; upstream's rule), not from the logs the
 * projection keeps: the client's versionID is not the current one (it never
 * synced, or synced before a rebuild), its version is 0 (a log with no entry
 * yet), or more distinct IDs changed since its version than a log keeps
 * (SYNC_LOG_MAX). A log holds one entry per ID, its latest change, so what
 * counts is the set of IDs changed since the client's last sync:
 *
 *   a user's join log   the groups the user joined or left (a dismissal is a
 *                       leave for every member)
 *   a group's member log the members who joined, left, or changed (role,
 *                       join time), and '' when the group's own info changed
 *
 * Which IDs an event changed is read off the reference model before and
 * after it: a change that changes nothing (a rename to the same name, a
 * redelivery) is no change.
 */

/** The part of a group a log records: its info (without memberCount) and members' role and join time. */
export interface GroupView {
  info: string;
  members: Map<string, string>;
}

export function viewOf(model: ReferenceModel, groupID: string): GroupView | null {
  const g = model.groups.get(groupID);
  const card = model.card(groupID);
  if (!g || !card) return null;
  const info = { ...card, memberCount: undefined };
  return { info: JSON.stringify(info), members: new Map([...g.members].map(([u, m]) => [u, `${m.role}|${m.joinTime}`])) };
}

export interface LogChanges {
  /** Users whose membership of the group began or ended (their join log's entry for it). */
  joins: string[];
  /** IDs of the group's member log that changed ('' = the group's own info); none once dismissed (the log goes). */
  members: string[];
}

export function changesOf(before: GroupView | null, after: GroupView | null): LogChanges {
  const was = before?.members ?? new Map<string, string>();
  const now = after?.members ?? new Map<string, string>();
  const joins = [...new Set([...was.keys(), ...now.keys()])].filter((u) => was.has(u) !== now.has(u));
  if (!after) return { joins, members: [] };
  const members = [...new Set([...was.keys(), ...now.keys()])].filter((u) => was.get(u) !== now.get(u));
  if (before && before.info !== after.info) members.push('');
  return { joins, members };
}

/** Since a client's last sync of one log: the generation then, the IDs changed since. */
interface Since {
  generation: number;
  /** The log had no entry (version 0), so the next sync is full again. */
  empty: boolean;
  changed: Set<string>;
}

export type FullReason = 'first sync' | 'rebuild' | 'version 0' | 'log overflow';

export class FullRules {
  generation = 1;
  private readonly joins = new Map<string, Since>();
  private readonly members = new Map<string, Map<string, Since>>();
  /** Users who were ever a member of a group: their join log has an entry. */
  private readonly everMember = new Set<string>();

  constructor(readonly logMax: number) {}

  /** The changes one delivered event made to group `groupID`. */
  record(groupID: string, changes: LogChanges): void {
    for (const u of changes.joins) {
      this.everMember.add(u);
      this.joins.get(u)?.changed.add(groupID);
    }
    for (const since of this.members.values()) {
      const s = since.get(groupID);
      if (s) for (const id of changes.members) s.changed.add(id);
    }
  }

  /** A new generation replaced the active one: every versionID handed out is stale. */
  rebuilt(): void {
    this.generation++;
  }

  /** After a sync: the client's versions now stand for the current state of its join log and its groups' member logs. */
  synced(userID: string, groups: Iterable<string>): void {
    this.joins.set(userID, { generation: this.generation, empty: !this.everMember.has(userID), changed: new Set() });
    const since = new Map<string, Since>();
    for (const g of groups) since.set(g, { generation: this.generation, empty: false, changed: new Set() });
    this.members.set(userID, since);
  }

  /** Why the user's next join answer must be full, or null when it must not. */
  joinFull(userID: string): FullReason | null {
    return this.reason(this.joins.get(userID));
  }

  /** Why the member answer for `groupID` must be full; `known`: the client holds member state for it. */
  memberFull(userID: string, groupID: string, known: boolean): FullReason | null {
    return known ? this.reason(this.members.get(userID)?.get(groupID)) : 'first sync';
  }

  private reason(since: Since | undefined): FullReason | null {
    if (!since) return 'first sync';
    if (since.generation !== this.generation) return 'rebuild';
    if (since.empty) return 'version 0';
    if (since.changed.size > this.logMax) return 'log overflow';
    return null;
  }
}
