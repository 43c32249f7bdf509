import type { Redis } from 'ioredis';
import { keyspace, type Keyspace } from './keys.js';
import { SCRIPTS } from './scripts.js';

/**
 * The read path: a page of a user's groups (the hot path), and the related
 * reads upstream clients make. Every read takes the active generation inside
 * its script, so it sees one snapshot and never a half-switched generation.
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
   * With `trackedGeneration` given and matching: every key the answer was
   * read from by a plain command of this connection (so CLIENT TRACKING
   * reports a change to any of them). Absent otherwise.
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

/** A script's generation reply: '' when none is active. */
const generationOf = (gen: string): number | null => (gen === '' ? null : Number(gen));

export class Reader {
  readonly keys: Keyspace;

  constructor(
    readonly redis: Redis,
    private readonly root: string,
  ) {
    this.keys = keyspace(root);
  }

  /**
   * A page, the hot path: one Lua call gives the total and the page's card
   * keys from one snapshot of the active generation, one MGET the cards as
   * Buffers (docs/benchmarks.md says why the cards do not go through Lua).
   * The cards are those of that generation, as of the MGET: a group renamed
   * in between answers with its new name, as it would a moment later. When a
   * card is gone by then (its group dismissed, or the generation retired by a
   * rebuild's switch), the page is read again in one call, one snapshot.
   * Redis commands per page: EVALSHA + MGET, whatever the user's group count.
   */
  async readPageCards(userID: string, offset: number, count: number, trackedGeneration?: number): Promise<PageCards> {
    const args = [this.root, userID, offset, count];
    // Keys read inside Lua are not tracked by CLIENT TRACKING (Redis 7.0), so a
    // caller that caches answers has the generation switch and the user's set
    // read by a plain EXISTS, sent before the script on the same connection.
    let tracked: string[] | undefined;
    let trackedOk: Promise<boolean> | undefined;
    if (trackedGeneration !== undefined) {
      tracked = [this.keys.active, this.keys.entity('userJoined', trackedGeneration, userID)];
      trackedOk = this.redis.exists(...tracked).then(
        () => true,
        () => false, // the answer stands; it is only not cacheable
      );
    }
    const head = (await SCRIPTS.page.run(this.redis, [...args, 'keys'])) as [number, string, ...string[]];
    const total = head[0];
    const generation = generationOf(head[1]);
    const readFrom = tracked !== undefined && generation === trackedGeneration && (await trackedOk!) ? tracked : undefined;
    if (head.length === 2) return { total, cards: [], generation, readFrom };
    const cardKeys = head.slice(2) as string[];
    const cards = await this.redis.mgetBuffer(cardKeys);
    if (!cards.includes(null)) return { total, cards: cards as Buffer[], generation, readFrom: readFrom && [...readFrom, ...cardKeys] };
    const again = (await SCRIPTS.page.runBuffer(this.redis, [...args, 'cards'])) as [number, Buffer, ...Buffer[]];
    return { total: again[0], cards: again.slice(2) as Buffer[], generation: generationOf(again[1].toString()) };
  }

  /** readPageCards() with the cards joined into a string, for callers that are no hot path. */
  async readPage(userID: string, offset: number, count: number): Promise<Page> {
    const { total, cards, generation } = await this.readPageCards(userID, offset, count);
    return { total, groupsJson: cards.join(','), generation };
  }

  /** One round trip: the cards of the known groups among `groupIDs`, in that order. */
  async readGroupsInfo(groupIDs: readonly string[]): Promise<GroupsInfo> {
    const [gen, groupsJson] = (await SCRIPTS.groupsInfo.run(this.redis, [this.root, ...groupIDs])) as [string, string];
    return { groupsJson, generation: generationOf(gen) };
  }

  /**
   * One round trip: a page of a group's members for `caller` (who must be a
   * member unless `callerIsAdmin`), or why not.
   */
  async readMemberPage(
    groupID: string,
    caller: { userID: string; isAdmin: boolean },
    offset: number,
    count: number,
  ): Promise<MemberPage> {
    const [outcome, total, membersJson] = (await SCRIPTS.memberPage.run(this.redis, [
      this.root,
      groupID,
      caller.userID,
      caller.isAdmin ? '1' : '0',
      offset,
      count,
    ])) as [MemberPageOutcome, number, string];
    return { outcome, total, membersJson };
  }

  /** One round trip: all of a user's group IDs and the join log's version. */
  async readJoinedGroupIDs(userID: string): Promise<JoinedGroupIDs> {
    const [gen, versionID, version, groupIDs] = (await SCRIPTS.joinedIds.run(this.redis, [this.root, userID])) as [
      string,
      string,
      number,
      string[],
    ];
    return { groupIDs, version, versionID, generation: generationOf(gen) };
  }
}
