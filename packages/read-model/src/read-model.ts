import type { RedisClient } from './redis-client.js';
import { Applier, type ApplierOptions, type PositionedEvent } from './apply.js';
import type { Outcome } from './evolve.js';
import { Generations } from './generations.js';
import type { Keyspace } from './keys.js';
import { SyncReader } from './read-sync.js';
import { Reader, type GroupsInfo, type JoinedGroupIDs, type MemberPage, type Page, type PageCards } from './read-page.js';

export type ReadModelOptions = ApplierOptions;

/**
 * Both halves of the read model over one connection: the write path
 * (apply.ts), the read path (read-page.ts) and the generations
 * (generations.ts, the one owner of `<root>:active`). The services and the
 * tests hold one of these; it only delegates.
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
    this.generations = new Generations(redis, options.root);
    this.keys = this.generations.keys;
    this.applier = new Applier(redis, options);
    this.reader = new Reader(redis, options.root);
    this.sync = new SyncReader(redis, options.root);
  }

  /** Applier.apply(): one partition's events, in chunks of atomic calls. */
  apply(gen: number | string | null, partition: number, events: PositionedEvent[], checkpoint?: string): Promise<Outcome[]> {
    return this.applier.apply(gen, partition, events, checkpoint);
  }

  readPageCards(userID: string, offset: number, count: number, trackedGeneration?: number): Promise<PageCards> {
    return this.reader.readPageCards(userID, offset, count, trackedGeneration);
  }

  readPage(userID: string, offset: number, count: number): Promise<Page> {
    return this.reader.readPage(userID, offset, count);
  }

  readGroupsInfo(groupIDs: readonly string[]): Promise<GroupsInfo> {
    return this.reader.readGroupsInfo(groupIDs);
  }

  readMemberPage(groupID: string, caller: { userID: string; isAdmin: boolean }, offset: number, count: number): Promise<MemberPage> {
    return this.reader.readMemberPage(groupID, caller, offset, count);
  }

  readJoinedGroupIDs(userID: string): Promise<JoinedGroupIDs> {
    return this.reader.readJoinedGroupIDs(userID);
  }

  checkpoints(gen: number | string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.checkpoints(gen));
  }
}
