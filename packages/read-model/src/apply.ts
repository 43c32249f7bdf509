import type { GroupEvent } from '@imgroups/contracts';
import type { Redis } from 'ioredis';
import { evolve, type Outcome } from './evolve.js';
import { SCRIPTS, type LuaScript } from './scripts.js';
import { encodeEvent, eventKey } from './wire.js';

/**
 * The write path's last step: events, evolved into operations (evolve.ts)
 * and encoded (wire.ts), applied by lua/apply.lua in chunks, each chunk one
 * atomic call.
 */

export interface PositionedEvent {
  /** Kafka offset, as kafkajs gives it (a decimal string). */
  offset: string;
  event: GroupEvent;
}

export interface ApplierOptions {
  /** Key root, e.g. "rm"; tests give each their own. */
  root: string;
  /** Event IDs remembered per group for dedupe of re-sent events. */
  dedupeWindow: number;
  /** Events per Lua call: bounds how long one call blocks Redis. */
  chunkSize?: number;
  /** v1.1: membership tombstones (leaves with their seq) kept per group; the oldest go past it (docs/events.md). */
  seqTombstones?: number;
  /** Entries kept per version log (SYNC_LOG_MAX): a client further behind syncs in full. */
  syncLogMax?: number;
}

/** The config's SEQ_TOMBSTONES default, for callers without a config (tests, tools). */
export const DEFAULT_SEQ_TOMBSTONES = 1000;
/** The config's SYNC_LOG_MAX default (upstream's full-sync threshold), for callers without a config. */
export const DEFAULT_SYNC_LOG_MAX = 200;

export class Applier {
  private readonly chunkSize: number;

  /**
   * `script` and `extraArgs` are the test harness's (test-helpers.ts): production
   * runs lua/apply.lua as assembled in scripts.ts, with no extra argument.
   */
  constructor(
    readonly redis: Redis,
    private readonly options: ApplierOptions,
    private readonly script: LuaScript = SCRIPTS.apply,
    private readonly extraArgs: (string | number)[] = [],
  ) {
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
   * the generation switch relies on it (lua/flip.lua) when a multi-chunk call
   * straddles the switch.
   */
  async apply(gen: number | string | null, partition: number, events: PositionedEvent[], checkpoint?: string): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    if (events.length === 0) {
      if (checkpoint !== undefined) await this.applyChunk(gen, partition, [], checkpoint);
      return outcomes;
    }
    for (let i = 0; i < events.length; i += this.chunkSize) {
      const chunk = events.slice(i, i + this.chunkSize);
      const last = i + this.chunkSize >= events.length;
      const upTo = checkpoint === undefined ? undefined : last ? checkpoint : chunk[chunk.length - 1]!.offset;
      outcomes.push(...(await this.applyChunk(gen, partition, chunk, upTo)));
    }
    return outcomes;
  }

  private async applyChunk(
    gen: number | string | null,
    partition: number,
    events: PositionedEvent[],
    checkpoint: string | undefined,
  ): Promise<Outcome[]> {
    const wire: string[] = [];
    for (const { offset, event } of events) {
      const seq = event.seq === undefined ? '' : String(event.seq);
      encodeEvent(wire, { groupID: event.groupID, offset, key: eventKey(event.eventID), seq }, evolve(event));
    }
    const [, outcomes] = (await this.script.run(this.redis, [
      this.options.root,
      gen ?? '',
      this.options.dedupeWindow,
      partition,
      checkpoint ?? '',
      this.options.seqTombstones ?? DEFAULT_SEQ_TOMBSTONES,
      JSON.stringify(wire),
      this.options.syncLogMax ?? DEFAULT_SYNC_LOG_MAX,
      ...this.extraArgs,
    ])) as [string, Outcome[] | null];
    // An empty table comes back from Lua as an empty (or nil) reply.
    return outcomes ?? [];
  }
}
