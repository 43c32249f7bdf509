/**
 * Test helpers (left out of dist, imported as '@imgroups/read-model/seed' by
 * tests only): a generation's read-side data written with plain one-key
 * commands, in the layout keys.ts and lua/lib/log.lua describe, without the
 * apply script. The same calls work on one Redis and on a Redis Cluster, so
 * a test can seed both alike and compare what the reads answer.
 */
import { GROUP_INFO_FIELDS, NUMERIC_GROUP_FIELDS } from '@imgroups/contracts';
import { keyspace, type Keyspace } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { memberDetail } from './wire.js';

/** A version log entry's state (lua/lib/log.lua). */
export const LOG = { joined: 1, left: 2, changed: 3 } as const;

export interface SeedMember {
  userID: string;
  joinTime: number;
  roleLevel?: number;
}

export interface SeedGroup {
  groupID: string;
  groupName?: string;
  ownerUserID?: string;
  members: SeedMember[];
  /** The member log: [userID ('' = the group's info), version, state]. */
  memberLog?: [string, number, number][];
  /** The member log's version of the last change to the members' order. */
  sortVersion?: number;
}

/** A GroupInfo JSON as the card holds it: every field in contract order, numbers 0 and strings '' unless given. */
export function cardJson(values: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(GROUP_INFO_FIELDS.map((f) => [f, values[f] ?? (NUMERIC_GROUP_FIELDS.has(f) ? 0 : '')])));
}

export class Seeder {
  readonly keys: Keyspace;

  constructor(
    readonly redis: RedisClient,
    readonly root: string,
    readonly gen: number,
  ) {
    this.keys = keyspace(root);
  }

  /** Make this generation the active one, with `epoch`. */
  async activate(epoch: string): Promise<void> {
    await Promise.all([this.redis.set(this.keys.active, String(this.gen)), this.redis.set(this.keys.epoch, epoch)]);
  }

  /** A live group: its card, info, members with their details, member log. */
  async group(g: SeedGroup): Promise<void> {
    const k = (kind: Parameters<Keyspace['entity']>[0]) => this.keys.entity(kind, this.gen, g.groupID);
    const card = cardJson({ groupID: g.groupID, groupName: g.groupName ?? `name ${g.groupID}`, ownerUserID: g.ownerUserID ?? '', memberCount: g.members.length, status: 0 });
    const writes: Promise<unknown>[] = [
      this.redis.set(k('groupCard'), card),
      this.redis.hset(k('groupInfo'), { status: '1', ...(g.sortVersion ? { _r: String(g.sortVersion) } : {}) }),
    ];
    if (g.members.length > 0) {
      writes.push(this.redis.zadd(k('groupMembers'), ...g.members.flatMap((m) => [m.joinTime, m.userID])));
      const details = g.members.map((m) => [m.userID, memberDetail({ roleLevel: String(m.roleLevel ?? 20), joinSource: '2', inviterUserID: '', operatorUserID: 'op' })]);
      writes.push(this.redis.hset(k('groupMemberInfo'), Object.fromEntries(details) as Record<string, string>));
    }
    if (g.memberLog?.length) writes.push(this.redis.zadd(k('groupMemberLog'), ...g.memberLog.flatMap(([id, v, s]) => [v * 4 + s, id])));
    await Promise.all(writes);
  }

  /** A dismissed group: no card, its info marked dismissed with the GroupInfo it answers with (status 2, memberCount 0). */
  async dismissed(groupID: string, groupName = `name ${groupID}`): Promise<void> {
    const tombstone = cardJson({ groupID, groupName, status: 2, memberCount: 0 });
    await this.redis.hset(this.keys.entity('groupInfo', this.gen, groupID), { status: '2', _t: tombstone });
  }

  /** A user's list: groupID -> join time. */
  async joined(userID: string, groups: { groupID: string; joinTime: number }[]): Promise<void> {
    if (groups.length === 0) return;
    await this.redis.zadd(this.keys.entity('userJoined', this.gen, userID), ...groups.flatMap((g) => [g.joinTime, g.groupID]));
  }

  /** A user's join log: [groupID, version, state]. */
  async joinLog(userID: string, entries: [string, number, number][]): Promise<void> {
    if (entries.length === 0) return;
    await this.redis.zadd(this.keys.entity('userJoinLog', this.gen, userID), ...entries.flatMap(([id, v, s]) => [v * 4 + s, id]));
  }
}
