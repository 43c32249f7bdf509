import type { Redis } from 'ioredis';
import type { MemberPageOutcome } from './read-page.js';
import { SCRIPTS } from './scripts.js';

/**
 * The read path of the SDK's incremental group sync: the version logs the
 * apply script keeps (lua/lib/log.lua) read by lua/sync-joins.lua,
 * sync-members.lua and member-ids.lua, each one round trip from one snapshot
 * of the active generation. docs/http-api.md "Group sync" has the rules.
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
    readonly redis: Redis,
    private readonly root: string,
  ) {}

  async readJoinSync(userID: string, client: ClientVersion): Promise<JoinSync> {
    const [versionID, version, full, deleted, inserted] = (await SCRIPTS.syncJoins.run(this.redis, [
      this.root,
      userID,
      client.versionID,
      client.version,
    ])) as [string, number, number, string[], string[]];
    return { versionID, version, full: full === 1, deleted, insertedJson: inserted.join(',') };
  }

  async readMemberSync(groupID: string, caller: Caller, client: ClientVersion): Promise<MemberSync> {
    const [outcome, versionID, version, full, deleted, inserted, updated, group, sortVersion] = (await SCRIPTS.syncMembers.run(
      this.redis,
      [this.root, groupID, caller.userID, caller.isAdmin ? '1' : '0', client.versionID, client.version],
    )) as [MemberPageOutcome, string, number, number, string[], string[], string[], string, number];
    return {
      outcome,
      versionID,
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

  async readMemberIDs(groupID: string, caller: Caller): Promise<MemberIDs> {
    const [outcome, versionID, version, userIDs] = (await SCRIPTS.memberIds.run(this.redis, [
      this.root,
      groupID,
      caller.userID,
      caller.isAdmin ? '1' : '0',
    ])) as [MemberPageOutcome, string, number, string[]];
    return { outcome, versionID, version, userIDs };
  }
}
