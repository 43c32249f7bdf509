import type { ActiveSnapshot } from './active-generation.js';
import type { Generations } from './generations.js';
import type { Keyspace } from './keys.js';
import { getMany, perKey, type RedisClient } from './redis-client.js';
import { SCRIPTS } from './scripts.js';

/**
 * The read path: a page of a user's groups (the hot path), and the related
 * reads upstream clients make. A read resolves the active generation once
 * (Generations.current(), cached briefly) or is given it (`at`: a request
 * of several reads passes the same one to each), and reads only that
 * generation's keys: a user's or a group's in one script call (one hash
 * slot), the cards of many groups from their own slots (getMany: per node
 * one round trip). Same code on one Redis and on a Redis Cluster.
 */

export interface Page {
  total: number;
  /** The page's GroupInfo objects, JSON, comma-joined (no brackets). */
  groupsJson: string;
  /** The generation read, or null when none is active yet. */
  generation: number | null;
}

/** A page as Redis sent it: each group's pre-serialized GroupInfo JSON, never decoded. */
export interface PageCards {
  total: number;
  /** UTF-8 GroupInfo JSON per group, in list order. */
  cards: Buffer[];
  /** The generation read, or null when none is active yet. */
  generation: number | null;
  /**
   * With `track` (one Redis only): every key the answer was read from by a
   * plain command of this connection (so CLIENT TRACKING reports a change to
   * any of them), when the generation read was still the active one. Absent
   * otherwise.
   */
  readFrom?: string[];
}

/** The known groups among those asked for, in the order asked. */
export interface GroupsInfo {
  /** GroupInfo objects, JSON, comma-joined (no brackets); dismissed groups with status 2, memberCount 0. */
  groupsJson: string;
  generation: number | null;
}

export type MemberPageOutcome = 'ok' | 'no_permission' | 'not_found' | 'dismissed';

export interface MemberPage {
  outcome: MemberPageOutcome;
  /** The group's member count ('ok' only; 0 otherwise). */
  total: number;
  /** The page's GroupMemberFullInfo objects, JSON, comma-joined (no brackets). */
  membersJson: string;
}

export interface JoinedGroupIDs {
  /** Every group of the user, in list order (join time, then groupID). */
  groupIDs: string[];
  /** The user's join log: its version (0: never joined a group) and versionID ('' when no generation or epoch). */
  version: number;
  versionID: string;
  generation: number | null;
}

export interface PageOptions {
  /** Read the keys the answer depends on by plain commands too, for CLIENT TRACKING (PageCards.readFrom). One Redis only. */
  track?: boolean;
  /** The generation to read (the request's); default Generations.current(). */
  at?: ActiveSnapshot;
}

export class Reader {
  readonly keys: Keyspace;

  constructor(
    readonly redis: RedisClient,
    private readonly generations: Generations,
  ) {
    this.keys = generations.keys;
  }

  /**
   * A page, the hot path: one script call in the user's slot gives the total
   * and the page's group IDs, then getMany() the cards as Buffers (one MGET
   * on one Redis; per node one round trip on a Cluster). docs/benchmarks.md
   * says why the cards do not go through Lua. The cards are those of that
   * generation, as of their read: a group renamed in between answers with
   * its new name, as it would a moment later. When a card is gone by then
   * (its group dismissed, or the generation retired by a rebuild's switch
   * and deleted after its grace period), the page is read once more with
   * the generation active now (asked of Redis, not the cache), and groups
   * still without a card are left out.
   */
  async readPageCards(userID: string, offset: number, count: number, opts: PageOptions = {}): Promise<PageCards> {
    const at = opts.at ?? (await this.generations.current());
    const first = await this.pageAt(at.generation, userID, offset, count, opts.track === true);
    if (first.whole) return first.page;
    const now = await this.generations.current({ fresh: true });
    return (await this.pageAt(now.generation, userID, offset, count, false)).page;
  }

  private async pageAt(gen: number | null, userID: string, offset: number, count: number, track: boolean) {
    if (gen === null) return { page: { total: 0, cards: [], generation: null } as PageCards, whole: true };
    const joined = this.keys.entity('userJoined', gen, userID);
    // Keys read inside Lua are not tracked by CLIENT TRACKING (Redis 7.0), so
    // a caller that caches answers has the generation switch and the user's
    // set read by plain commands, sent before the script on the same connection.
    const tracked = track
      ? Promise.all([this.redis.get(this.keys.active), this.redis.exists(joined)]).then(
          ([active]) => active === String(gen),
          () => false, // the answer stands; it is only not cacheable
        )
      : undefined;
    const head = (await SCRIPTS.page.run(this.redis, [joined], [offset, count])) as [number, ...string[]];
    const cardKeys = head.slice(1).map((id) => this.keys.entity('groupCard', gen, id as string));
    const got = await getMany(this.redis, cardKeys);
    const cards = got.filter((c): c is Buffer => c !== null);
    const readFrom = tracked !== undefined && (await tracked) ? [this.keys.active, joined, ...cardKeys] : undefined;
    return { page: { total: head[0], cards, generation: gen, readFrom } as PageCards, whole: cards.length === got.length };
  }

  /** readPageCards() with the cards joined into a string, for callers that are no hot path. */
  async readPage(userID: string, offset: number, count: number, at?: ActiveSnapshot): Promise<Page> {
    const { total, cards, generation } = await this.readPageCards(userID, offset, count, { at });
    return { total, groupsJson: cards.join(','), generation };
  }

  /**
   * The cards of the known groups among `groupIDs`, in that order: getMany()
   * of the cards, then, only for groups without one, their info hash (a
   * dismissed group answers with its tombstone), pipelined the same way.
   */
  async readGroupsInfo(groupIDs: readonly string[], at?: ActiveSnapshot): Promise<GroupsInfo> {
    const gen = (at ?? (await this.generations.current())).generation;
    if (gen === null) return { groupsJson: '', generation: null };
    const cards: (Buffer | string | null)[] = await getMany(
      this.redis,
      groupIDs.map((id) => this.keys.entity('groupCard', gen, id)),
    );
    const missing = cards.flatMap((c, i) => (c === null ? [i] : []));
    if (missing.length > 0) {
      const infos = (await perKey(
        this.redis,
        missing.map((i) => this.keys.entity('groupInfo', gen, groupIDs[i]!)),
        (pipeline, key) => pipeline.hmget(key, 'status', '_t'),
      )) as (string | null)[][];
      // A dismissed group keeps the GroupInfo it answers with (status 2, memberCount 0) in `_t`.
      infos.forEach(([status, tombstone], k) => {
        if (status === '2' && tombstone) cards[missing[k]!] = tombstone;
      });
    }
    return { groupsJson: cards.filter((c) => c !== null).join(','), generation: gen };
  }

  /**
   * One script call in the group's slot: a page of its members for `caller`
   * (who must be a member unless `callerIsAdmin`), or why not.
   */
  async readMemberPage(
    groupID: string,
    caller: { userID: string; isAdmin: boolean },
    offset: number,
    count: number,
    at?: ActiveSnapshot,
  ): Promise<MemberPage> {
    const gen = (at ?? (await this.generations.current())).generation;
    if (gen === null) return { outcome: caller.isAdmin ? 'not_found' : 'no_permission', total: 0, membersJson: '' };
    const [outcome, total, membersJson] = (await SCRIPTS.memberPage.run(
      this.redis,
      [this.keys.entity('groupMembers', gen, groupID), this.keys.entity('groupInfo', gen, groupID), this.keys.entity('groupMemberInfo', gen, groupID)],
      [groupID, caller.userID, caller.isAdmin ? '1' : '0', offset, count],
    )) as [MemberPageOutcome, number, string];
    return { outcome, total, membersJson };
  }

  /** One script call in the user's slot: all of a user's group IDs and the join log's version. */
  async readJoinedGroupIDs(userID: string, at?: ActiveSnapshot): Promise<JoinedGroupIDs> {
    const { generation, versionID } = at ?? (await this.generations.current());
    if (generation === null) return { groupIDs: [], version: 0, versionID: '', generation: null };
    const [version, groupIDs] = (await SCRIPTS.joinedIds.run(
      this.redis,
      [this.keys.entity('userJoined', generation, userID), this.keys.entity('userJoinLog', generation, userID)],
      [],
    )) as [number, string[]];
    return { groupIDs, version, versionID, generation };
  }
}
