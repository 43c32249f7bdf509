import { hash } from 'node:crypto';
import { NUMERIC_GROUP_FIELDS, type GroupEvent } from '@imgroups/contracts';
import type { Redis } from 'ioredis';
import { evolve, type MemberRow, type Outcome } from './evolve.js';
import { keyspace, type Keyspace } from './keys.js';
import { APPLY_SCRIPT, GROUPS_INFO_SCRIPT, JOINED_IDS_SCRIPT, MEMBER_PAGE_SCRIPT, PAGE_KEYS_SCRIPT, PAGE_SCRIPT, STORED_FIELDS } from './lua.js';
import { LuaScript } from './script.js';

const applyScript = new LuaScript(APPLY_SCRIPT);
const pageKeysScript = new LuaScript(PAGE_KEYS_SCRIPT);
const pageScript = new LuaScript(PAGE_SCRIPT);
const groupsInfoScript = new LuaScript(GROUPS_INFO_SCRIPT);
const memberPageScript = new LuaScript(MEMBER_PAGE_SCRIPT);
const joinedIdsScript = new LuaScript(JOINED_IDS_SCRIPT);

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
  /** Changes to the user's set so far in this generation (0: none). */
  version: number;
  generation: number | null;
}

export interface PositionedEvent {
  /** Kafka offset, as kafkajs gives it (a decimal string). */
  offset: string;
  event: GroupEvent;
}

export interface ReadModelOptions {
  /** Key root, e.g. "rm"; tests give each their own. */
  root: string;
  /** Event IDs remembered per group for dedupe of re-sent events. */
  dedupeWindow: number;
  /** Events per Lua call: bounds how long one call blocks Redis. */
  chunkSize?: number;
}

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

/**
 * What the dedupe window stores for an event: the first 66 bits of the
 * SHA-1 of its eventID, 11 base64url characters (a UUID is 36). Two of the
 * 128 IDs remembered per group collide with odds of about 128^2 / 2^67 =
 * 1e-16, and eventIDs come from our own producers, not from an adversary;
 * a collision would make an event look re-sent and be skipped.
 */
export function eventKey(eventID: string): string {
  return hash('sha1', eventID, 'base64url').slice(0, 11);
}

const STORED_DEFAULTS = STORED_FIELDS.map((f) => (NUMERIC_GROUP_FIELDS.has(f) ? '0' : ''));

/**
 * A member's `minfo` value: `role|joinSource|<inviter bytes>|<inviter><operator>`
 * (e.g. `20|2|2|u1u7`); the inviter's length comes first because both IDs
 * may hold any character. Lua's parse_detail reads it back.
 */
export function memberDetail(m: Pick<MemberRow, 'r' | 's' | 'i' | 'o'>): string {
  return `${m.r}|${m.s}|${Buffer.byteLength(m.i)}|${m.i}${m.o}`;
}

function pushMembers(args: string[], members: MemberRow[]) {
  args.push(String(members.length));
  for (const m of members) args.push(m.u, memberDetail(m), m.j);
}

/**
 * An event as the apply script reads it, appended to `args`: op, groupID,
 * offset, event key, then the op's operands. The chunk goes as one JSON
 * array of strings: flat, so cjson builds no table per event, and one
 * argument, where thousands of ARGV cost ioredis (and Redis' parser) about
 * 3 us per event.
 */
function pushWire(args: string[], { offset, event }: PositionedEvent) {
  const op = evolve(event);
  const head = [event.groupID, offset, eventKey(event.eventID)] as const;
  switch (op.t) {
    case 'join':
      args.push('j', ...head);
      pushMembers(args, op.members);
      return;
    case 'leave':
      args.push('l', ...head, String(op.userIDs.length), ...op.userIDs);
      return;
    case 'role':
      args.push('r', ...head, op.userID, op.role);
      return;
    case 'transfer':
      args.push('t', ...head, op.from, op.to);
      return;
    case 'create':
      args.push('c', ...head);
      STORED_FIELDS.forEach((f, i) => args.push(op.fields[f] ?? STORED_DEFAULTS[i]!));
      pushMembers(args, op.members);
      return;
    case 'patch': {
      const entries = Object.entries(op.fields);
      args.push('p', ...head, String(entries.length));
      for (const [k, v] of entries) args.push(k, v);
      return;
    }
    case 'status':
      args.push('s', ...head, op.status);
      return;
    case 'dismiss':
      args.push('d', ...head);
      return;
  }
}

/** A script's generation reply: '' when none is active. */
const generationOf = (gen: string): number | null => (gen === '' ? null : Number(gen));

/** Fault injection for tests: fail the Lua call after this many writes, keeping them. */
export interface Faults {
  crashAfterWrites: number;
}

export class ReadModel {
  readonly keys: Keyspace;
  private readonly chunkSize: number;

  constructor(
    readonly redis: Redis,
    private readonly options: ReadModelOptions,
  ) {
    this.keys = keyspace(options.root);
    this.chunkSize = options.chunkSize ?? 500;
  }

  /**
   * Apply one partition's events, in offset order, to generation `gen` (null:
   * whichever is active when each chunk runs, read inside the script), in
   * chunks of atomic Lua calls; then record `checkpoint` (the highest offset
   * handled, poison included) with the last chunk. Safe to repeat: every
   * event already applied comes back as a duplicate and changes nothing.
   *
   * With a checkpoint, every chunk records its own last offset too, so a
   * generation's checkpoint always covers exactly what that generation holds:
   * the generation switch relies on it (FLIP_SCRIPT) when a multi-chunk call
   * straddles the switch.
   */
  async apply(
    gen: number | string | null,
    partition: number,
    events: PositionedEvent[],
    checkpoint?: string,
    faults?: Faults,
  ): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    if (events.length === 0) {
      if (checkpoint !== undefined) await this.applyChunk(gen, partition, [], checkpoint, faults);
      return outcomes;
    }
    for (let i = 0; i < events.length; i += this.chunkSize) {
      const chunk = events.slice(i, i + this.chunkSize);
      const last = i + this.chunkSize >= events.length;
      const upTo = checkpoint === undefined ? undefined : last ? checkpoint : chunk[chunk.length - 1]!.offset;
      outcomes.push(...(await this.applyChunk(gen, partition, chunk, upTo, faults)));
    }
    return outcomes;
  }

  private async applyChunk(
    gen: number | string | null,
    partition: number,
    events: PositionedEvent[],
    checkpoint: string | undefined,
    faults: Faults | undefined,
  ): Promise<Outcome[]> {
    const wire: string[] = [];
    for (const e of events) pushWire(wire, e);
    const [, outcomes] = (await applyScript.run(this.redis, [
      this.options.root,
      gen ?? '',
      this.options.dedupeWindow,
      partition,
      checkpoint ?? '',
      faults?.crashAfterWrites ?? '',
      JSON.stringify(wire),
    ])) as [string, Outcome[] | null];
    // An empty table comes back from Lua as an empty (or nil) reply.
    return outcomes ?? [];
  }

  /**
   * A page, the hot path: one Lua call gives the total and the page's card
   * keys from one snapshot of the active generation, one MGET the cards as
   * Buffers (bench/README.md says why the cards do not go through Lua). The
   * cards are those of that generation, as of the MGET: a group renamed in
   * between answers with its new name, as it would a moment later. When a
   * card is gone by then (its group dismissed, or the generation retired by a
   * rebuild's switch), the page is read again in one call, one snapshot.
   * Redis commands per page: EVALSHA + MGET, whatever the user's group count.
   */
  async readPageCards(userID: string, offset: number, count: number, trackedGeneration?: number): Promise<PageCards> {
    const args = [this.options.root, userID, offset, count];
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
    const head = (await pageKeysScript.run(this.redis, args)) as [number, string, ...string[]];
    const total = head[0];
    const generation = generationOf(head[1]);
    const readFrom = tracked !== undefined && generation === trackedGeneration && (await trackedOk!) ? tracked : undefined;
    if (head.length === 2) return { total, cards: [], generation, readFrom };
    const cardKeys = head.slice(2) as string[];
    const cards = await this.redis.mgetBuffer(cardKeys);
    if (!cards.includes(null)) return { total, cards: cards as Buffer[], generation, readFrom: readFrom && [...readFrom, ...cardKeys] };
    const again = (await pageScript.runBuffer(this.redis, args)) as [number, Buffer, ...Buffer[]];
    return { total: again[0], cards: again.slice(2) as Buffer[], generation: generationOf(again[1].toString()) };
  }

  /** readPageCards() with the cards joined into a string, for callers that are no hot path. */
  async readPage(userID: string, offset: number, count: number): Promise<Page> {
    const { total, cards, generation } = await this.readPageCards(userID, offset, count);
    return { total, groupsJson: cards.join(','), generation };
  }

  /** One round trip: the cards of the known groups among `groupIDs`, in that order. */
  async readGroupsInfo(groupIDs: readonly string[]): Promise<GroupsInfo> {
    const [gen, groupsJson] = (await groupsInfoScript.run(this.redis, [this.options.root, ...groupIDs])) as [string, string];
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
    const [outcome, total, membersJson] = (await memberPageScript.run(this.redis, [
      this.options.root,
      groupID,
      caller.userID,
      caller.isAdmin ? '1' : '0',
      offset,
      count,
    ])) as [MemberPageOutcome, number, string];
    return { outcome, total, membersJson };
  }

  /** One round trip: all of a user's group IDs and the set's version. */
  async readJoinedGroupIDs(userID: string): Promise<JoinedGroupIDs> {
    const [gen, version, groupIDs] = (await joinedIdsScript.run(this.redis, [this.options.root, userID])) as [
      string,
      string,
      string[],
    ];
    return { groupIDs, version: Number(version), generation: generationOf(gen) };
  }

  async activeGeneration(): Promise<number | null> {
    const v = await this.redis.get(this.keys.active);
    return v === null ? null : Number(v);
  }

  /** The active generation, creating generation 1 on an empty Redis. */
  async ensureActiveGeneration(): Promise<number> {
    await this.redis.set(this.keys.active, '1', 'NX');
    return Number(await this.redis.get(this.keys.active));
  }

  async checkpoints(gen: number | string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.checkpoints(gen));
  }
}
