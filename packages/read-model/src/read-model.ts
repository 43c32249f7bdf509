import type { GroupEvent } from '@imgroups/contracts';
import type { Redis } from 'ioredis';
import { evolve, type Op, type Outcome } from './evolve.js';
import { keyspace, type Keyspace } from './keys.js';
import { APPLY_SCRIPT, PAGE_SCRIPT } from './lua.js';
import { LuaScript } from './script.js';

const applyScript = new LuaScript(APPLY_SCRIPT);
const pageScript = new LuaScript(PAGE_SCRIPT);

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

type Wire = Op & { g: string; o: string; e: string };

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
   */
  async apply(
    gen: number | null,
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
      outcomes.push(...(await this.applyChunk(gen, partition, chunk, last ? checkpoint : undefined, faults)));
    }
    return outcomes;
  }

  private async applyChunk(
    gen: number | null,
    partition: number,
    events: PositionedEvent[],
    checkpoint: string | undefined,
    faults: Faults | undefined,
  ): Promise<Outcome[]> {
    const wire: Wire[] = events.map(({ offset, event }) => ({
      ...evolve(event),
      g: event.groupID,
      o: offset,
      e: event.eventID,
    }));
    const [, outcomes] = (await applyScript.run(this.redis, [
      this.options.root,
      gen ?? '',
      this.options.dedupeWindow,
      partition,
      checkpoint ?? '',
      // cjson decodes `[]` and `{}` alike; an empty batch is just that.
      JSON.stringify(wire),
      faults?.crashAfterWrites ?? '',
    ])) as [string, Outcome[] | null];
    return outcomes ?? [];
  }

  /** One round trip: active generation, total and the page, from one snapshot. */
  async readPage(userID: string, offset: number, count: number): Promise<Page> {
    const [total, gen, groupsJson] = (await pageScript.run(this.redis, [
      this.options.root,
      userID,
      offset,
      count,
    ])) as [number, string, string];
    return { total, groupsJson, generation: gen === '' ? null : Number(gen) };
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

  async checkpoints(gen: number): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.checkpoints(gen));
  }
}
