import type { ActiveSnapshot } from './active-generation.js';
import { Applier, type ApplierOptions, type PositionedEvent } from './apply.js';
import type { Outcome } from './evolve.js';
import { Generations, type GenerationsOptions } from './generations.js';
import type { Keyspace } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { SyncReader } from './read-sync.js';
import { Reader, type GroupsInfo, type JoinedGroupIDs, type MemberPage, type Page, type PageCards, type PageOptions } from './read-page.js';

/** The write path's options, and the generations' (activeTtlMs: how long readers keep a resolved generation; graceMs). */
export type ReadModelOptions = ApplierOptions & GenerationsOptions;

/**
 * Both halves of the read model over one client (one Redis or a Redis
 * Cluster): the write path (apply.ts), the read path (read-page.ts,
 * read-sync.ts) and the generations (generations.ts, the one owner of
 * `<root>:{<root>}:active`; the readers resolve it through it). The services
 * and the tests hold one of these; it only delegates.
 */
export class ReadModel {
  readonly keys: Keyspace;
  readonly generations: Generations;
  readonly applier: Applier;
  readonly reader: Reader;
  /** The SDK's incremental sync: readJoinSync, readMemberSync, readMemberIDs. */
  readonly sync: SyncReader;

  constructor(
    readonly redis: RedisClient,
    readonly options: ReadModelOptions,
  ) {
    this.generations = new Generations(redis, options.root, { activeTtlMs: options.activeTtlMs, graceMs: options.graceMs });
    this.keys = this.generations.keys;
    this.applier = new Applier(redis, options);
    this.reader = new Reader(redis, this.generations);
    this.sync = new SyncReader(redis, this.generations);
  }

  /** Applier.apply(): one partition's events, in chunks of atomic calls. */
  apply(gen: number | string | null, partition: number, events: PositionedEvent[], checkpoint?: string): Promise<Outcome[]> {
    return this.applier.apply(gen, partition, events, checkpoint);
  }

  /** The generation reads use now (Generations.current()): a request of several reads resolves it once and passes it as `at`. */
  current(opts: { fresh?: boolean } = {}): Promise<ActiveSnapshot> {
    return this.generations.current(opts);
  }

  readPageCards(userID: string, offset: number, count: number, opts?: PageOptions): Promise<PageCards> {
    return this.reader.readPageCards(userID, offset, count, opts);
  }

  readPage(userID: string, offset: number, count: number, at?: ActiveSnapshot): Promise<Page> {
    return this.reader.readPage(userID, offset, count, at);
  }

  readGroupsInfo(groupIDs: readonly string[], at?: ActiveSnapshot): Promise<GroupsInfo> {
    return this.reader.readGroupsInfo(groupIDs, at);
  }

  readMemberPage(
    groupID: string,
    caller: { userID: string; isAdmin: boolean },
    offset: number,
    count: number,
    at?: ActiveSnapshot,
  ): Promise<MemberPage> {
    return this.reader.readMemberPage(groupID, caller, offset, count, at);
  }

  readJoinedGroupIDs(userID: string, at?: ActiveSnapshot): Promise<JoinedGroupIDs> {
    return this.reader.readJoinedGroupIDs(userID, at);
  }

  checkpoints(gen: number | string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.checkpoints(gen));
  }
}
