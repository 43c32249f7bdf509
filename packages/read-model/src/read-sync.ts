import type { ActiveSnapshot } from './active-generation.js';
import type { Generations } from './generations.js';
import type { MemberPageOutcome } from './read-page.js';
import { getMany, type RedisClient } from './redis-client.js';
import { SCRIPTS } from './scripts.js';

/**
 * The read path of the SDK's incremental group sync: the version logs the
 * apply script keeps (lua/lib/log.lua) read by lua/sync-joins.lua,
 * sync-members.lua and member-ids.lua, each one script call in the user's
 * or the group's slot, from one generation: the one given (`at`, the
 * request's) or Generations.current(). The versionID is that generation's
 * (active-generation.ts versionIDOf). docs/http-api.md "Group sync" has the
 * rules.
 */

/** What a client holds: the log's versionID and version it last stored. */
export interface ClientVersion {
  versionID: string;
  version: number;
}

export interface JoinSync {
  versionID: string;
  version: number;
  /** The client must read the full list (and nothing else is given). */
  full: boolean;
  /** Groups the user left since the client's version. */
  deleted: string[];
  /** GroupInfo JSON of the groups joined since, comma-joined (no brackets). */
  insertedJson: string;
}

export interface MemberSync {
  outcome: MemberPageOutcome;
  versionID: string;
  version: number;
  full: boolean;
  /** Members who left since the client's version. */
  deleted: string[];
  /** GroupMemberFullInfo JSON of members who joined since, comma-joined. */
  insertedJson: string;
  /** GroupMemberFullInfo JSON of members changed since (role, join time, details), comma-joined. */
  updatedJson: string;
  /** The group's GroupInfo JSON when it changed since (its info, or its member count), else null. */
  groupJson: string | null;
  /** The member log's version of the last change to the members' order. */
  sortVersion: number;
  /** Members deleted, inserted and updated: the answer's size. */
  changes: number;
}

export interface MemberIDs {
  outcome: MemberPageOutcome;
  versionID: string;
  version: number;
  /** In join-time order (ties by userID). */
  userIDs: string[];
}

export interface Caller {
  userID: string;
  isAdmin: boolean;
}

export class SyncReader {
  constructor(
    readonly redis: RedisClient,
    private readonly generations: Generations,
  ) {}

  private get keys() {
    return this.generations.keys;
  }

  /**
   * One script call in the user's slot (the join log), then the cards of
   * the groups joined since, from their own slots (getMany); a group whose
   * card is gone by then (dismissed meanwhile) is left out.
   */
  async readJoinSync(userID: string, client: ClientVersion, at?: ActiveSnapshot): Promise<JoinSync> {
    const { generation, versionID } = at ?? (await this.generations.current());
    if (generation === null) return { versionID: '', version: 0, full: true, deleted: [], insertedJson: '' };
    const [version, full, deleted, joined] = (await SCRIPTS.syncJoins.run(
      this.redis,
      [this.keys.entity('userJoinLog', generation, userID)],
      [versionID, client.versionID, client.version],
    )) as [number, number, string[], string[]];
    const cards = await getMany(
      this.redis,
      joined.map((id) => this.keys.entity('groupCard', generation, id)),
    );
    return { versionID, version, full: full === 1, deleted, insertedJson: cards.filter((c) => c !== null).join(',') };
  }

  async readMemberSync(groupID: string, caller: Caller, client: ClientVersion, at?: ActiveSnapshot): Promise<MemberSync> {
    const { generation, versionID } = at ?? (await this.generations.current());
    if (generation === null) {
      const outcome = caller.isAdmin ? 'not_found' : 'no_permission';
      return { outcome, versionID: '', version: 0, full: true, deleted: [], insertedJson: '', updatedJson: '', groupJson: null, sortVersion: 0, changes: 0 };
    }
    const k = (kind: 'groupMembers' | 'groupInfo' | 'groupMemberLog' | 'groupMemberInfo' | 'groupCard') => this.keys.entity(kind, generation, groupID);
    const [outcome, version, full, deleted, inserted, updated, group, sortVersion] = (await SCRIPTS.syncMembers.run(
      this.redis,
      [k('groupMembers'), k('groupInfo'), k('groupMemberLog'), k('groupMemberInfo'), k('groupCard')],
      [groupID, caller.userID, caller.isAdmin ? '1' : '0', versionID, client.versionID, client.version],
    )) as [MemberPageOutcome, number, number, string[], string[], string[], string, number];
    return {
      outcome,
      versionID: outcome === 'ok' ? versionID : '',
      version,
      full: full === 1,
      deleted,
      insertedJson: inserted.join(','),
      updatedJson: updated.join(','),
      groupJson: group === '' ? null : group,
      sortVersion,
      changes: deleted.length + inserted.length + updated.length,
    };
  }

  async readMemberIDs(groupID: string, caller: Caller, at?: ActiveSnapshot): Promise<MemberIDs> {
    const { generation, versionID } = at ?? (await this.generations.current());
    if (generation === null) return { outcome: caller.isAdmin ? 'not_found' : 'no_permission', versionID: '', version: 0, userIDs: [] };
    const [outcome, version, userIDs] = (await SCRIPTS.memberIds.run(
      this.redis,
      [
        this.keys.entity('groupMembers', generation, groupID),
        this.keys.entity('groupInfo', generation, groupID),
        this.keys.entity('groupMemberLog', generation, groupID),
      ],
      [caller.userID, caller.isAdmin ? '1' : '0'],
    )) as [MemberPageOutcome, number, string[]];
    return { outcome, versionID: outcome === 'ok' ? versionID : '', version, userIDs };
  }
}
