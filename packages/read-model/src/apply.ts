import type { GroupEvent } from '@imgroups/contracts';
import { evolve, type Outcome } from './evolve.js';
import { keyspace, groupKeys, userKeys, type Keyspace } from './keys.js';
import { waitForReplicas, type RedisClient } from './redis-client.js';
import { SCRIPTS, type LuaScript } from './scripts.js';
import { encodeEvent, eventKey } from './wire.js';

/**
 * The write path's last step: events, evolved into operations (evolve.ts)
 * and encoded (wire.ts), applied in chunks. Each chunk is a few rounds of
 * calls, each call atomic and in one hash slot, so the same calls run on a
 * Redis Cluster (docs/operations.md "Redis Cluster"):
 *
 *   1. per group of the chunk, lua/apply.lua: the group's side of its events
 *      (guards, members, card, member log); it returns the state each user
 *      it touched must have for the group (a join time, or not a member);
 *   2. per such user, lua/apply-user.lua: the user's list and join log take
 *      those states;
 *   3. the fanout sets of dismissed groups (and snapshots' leaves) deleted,
 *      their users being done;
 *   4. lua/checkpoint.lua: the partition's checkpoint, unless the active
 *      generation changed meanwhile (then the chunk is applied there too);
 *   5. WAIT: every master had its writes reach `waitReplicas` replicas, or
 *      the chunk fails (and is applied again: every step is idempotent).
 *
 * A call that fails leaves the chunk to its redelivery: the groups' calls
 * meet their events as duplicates and give the users' states again (as the
 * member sets have them now), so a user's list only ever takes a state its
 * group had, never an older one.
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
  /** Events per chunk: what one checkpoint covers; a group's call holds at most its events of the chunk. */
  chunkSize?: number;
  /** v1.1: membership tombstones (leaves with their seq) kept per group; the oldest go past it (docs/events.md). */
  seqTombstones?: number;
  /** Entries kept per version log (SYNC_LOG_MAX): a client further behind syncs in full. */
  syncLogMax?: number;
  /** Replicas each chunk's writes must reach before apply() returns (REDIS_WAIT_REPLICAS); 0 = no WAIT. */
  waitReplicas?: number;
  /** How long one WAIT waits (REDIS_WAIT_TIMEOUT_MS). */
  waitTimeoutMs?: number;
}

/** The config's SEQ_TOMBSTONES default, for callers without a config (tests, tools). */
export const DEFAULT_SEQ_TOMBSTONES = 1000;
/** The config's SYNC_LOG_MAX default (upstream's full-sync threshold), for callers without a config. */
export const DEFAULT_SYNC_LOG_MAX = 200;

/** The scripts a chunk runs; the test harness (test-helpers.ts) gives fault-injecting ones. */
export interface ApplyScripts {
  group: LuaScript;
  user: LuaScript;
  /** Arguments appended to every group and user call, and what a call's reply has after its own (the harness's). */
  extraArgs?: (call: number) => (string | number)[];
  /** Called with each group or user call's reply tail (the harness's write count); calls then run one at a time. */
  onReply?: (tail: unknown[]) => void;
}

/** Thrown when no generation is active and the chunk was to follow the active one. */
export class NoActiveGenerationError extends Error {
  constructor(root: string) {
    super(`NOGEN no active generation under ${root}`);
  }
}

export class Applier {
  private readonly chunkSize: number;
  private readonly keys: Keyspace;
  private readonly scripts: ApplyScripts;

  constructor(
    readonly redis: RedisClient,
    private readonly options: ApplierOptions,
    scripts?: ApplyScripts,
  ) {
    this.chunkSize = options.chunkSize ?? 500;
    this.keys = keyspace(options.root);
    this.scripts = scripts ?? { group: SCRIPTS.apply, user: SCRIPTS.applyUser };
  }

  /**
   * Apply one partition's events, in offset order, to generation `gen` (null:
   * whichever is active when each chunk runs), in chunks; then record
   * `checkpoint` (the highest offset handled, poison included) with the last
   * chunk. Safe to repeat: every event already applied comes back as a
   * duplicate and changes nothing.
   *
   * With a checkpoint, every chunk records its own last offset too, so a
   * generation's checkpoint always covers exactly what that generation holds:
   * the generation switch relies on it (lua/flip.lua).
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
    const follow = gen === null;
    let target = follow ? await this.redis.get(this.keys.active) : String(gen);
    if (target === null) throw new NoActiveGenerationError(this.options.root);
    for (;;) {
      const outcomes = await this.applySteps(target, partition, events);
      const [status, active] = (await SCRIPTS.checkpoint.run(
        this.redis,
        [this.keys.active, this.keys.checkpoints(target)],
        [target, follow ? '1' : '0', partition, checkpoint ?? ''],
      )) as [string, string?];
      if (status === 'ok') {
        await this.waitForReplicas();
        return outcomes;
      }
      // A rebuild's switch came between: the new active generation takes the chunk too.
      if (!active) throw new NoActiveGenerationError(this.options.root);
      target = active;
    }
  }

  private async applySteps(gen: string, partition: number, events: PositionedEvent[]): Promise<Outcome[]> {
    // The chunk by group, each group's events in offset order.
    const byGroup = new Map<string, { wire: string[]; at: number[]; states: (string | number)[] }>();
    events.forEach(({ offset, event }, at) => {
      let g = byGroup.get(event.groupID);
      if (!g) byGroup.set(event.groupID, (g = { wire: [], at: [], states: [] }));
      const seq = event.seq === undefined ? '' : String(event.seq);
      encodeEvent(g.wire, { groupID: event.groupID, offset, key: eventKey(event.eventID), seq }, evolve(event));
      g.at.push(at);
    });
    const o = this.options;
    const outcomes = new Array<Outcome>(events.length);
    const byUser = new Map<string, (string | number)[]>();
    const fanouts: string[] = [];
    let call = 0;
    await this.each([...byGroup], async ([groupID, g]) => {
      const reply = (await this.run(this.scripts.group, groupKeys(this.keys, gen, groupID), [
        o.dedupeWindow,
        partition,
        o.seqTombstones ?? DEFAULT_SEQ_TOMBSTONES,
        JSON.stringify(g.wire),
        o.syncLogMax ?? DEFAULT_SYNC_LOG_MAX,
        ...(this.scripts.extraArgs?.(call++) ?? []),
      ])) as [Outcome[] | null, (string | number)[] | null, number];
      // An empty table comes back from Lua as an empty (or nil) reply.
      (reply[0] ?? []).forEach((outcome, i) => (outcomes[g.at[i]!] = outcome));
      g.states = reply[1] ?? [];
      if (reply[2] === 1) fanouts.push(groupID);
    });
    // Each user's states in the chunk's order of groups (not the order the
    // groups' replies came in, which differs between nodes): a join log's
    // versions do not depend on the topology.
    for (const [groupID, { states }] of byGroup) {
      for (let i = 0; i < states.length; i += 2) {
        const userID = String(states[i]);
        let list = byUser.get(userID);
        if (!list) byUser.set(userID, (list = []));
        list.push(groupID, states[i + 1]!);
      }
    }
    await this.each([...byUser], ([userID, states]) =>
      this.run(this.scripts.user, userKeys(this.keys, gen, userID), [
        o.syncLogMax ?? DEFAULT_SYNC_LOG_MAX,
        ...states,
        ...(this.scripts.extraArgs?.(call++) ?? []),
      ]),
    );
    // Their users done, the fanout sets go, and the flag that says a set may hold users.
    await Promise.all(
      fanouts.map(async (groupID) => {
        await this.redis.del(this.keys.entity('groupFanout', gen, groupID));
        await this.redis.hdel(this.keys.entity('groupInfo', gen, groupID), '_x');
      }),
    );
    return outcomes;
  }

  /** A group's or user's call; with the harness's onReply, the reply's tail goes to it. */
  private async run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown[]> {
    const reply = (await script.run(this.redis, keys, args)) as unknown[];
    if (this.scripts.onReply) this.scripts.onReply(reply.splice(script === this.scripts.group ? 3 : 0));
    return reply;
  }

  /**
   * Every item's call at once (Redis runs them in the order sent, one
   * connection per node, pipelined), or one at a time for the harness.
   */
  private async each<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
    if (this.scripts.onReply) {
      for (const item of items) await fn(item);
    } else {
      await Promise.all(items.map(fn));
    }
  }

  private async waitForReplicas(): Promise<void> {
    const replicas = this.options.waitReplicas ?? 0;
    if (replicas <= 0) return;
    const r = await waitForReplicas(this.redis, replicas, this.options.waitTimeoutMs ?? 2000);
    if (!r.ok) {
      throw new Error(
        `WAIT: the writes reached ${r.fewest} of ${replicas} replica(s) within ${this.options.waitTimeoutMs ?? 2000} ms on ${r.short.join(', ')} ` +
          '(a master without a replica, e.g. after a failover, until its replica is back: the chunk is applied again meanwhile)',
      );
    }
  }
}
