import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActiveGeneration, type ActiveSnapshot } from './active-generation.js';
import { keyspace, type Keyspace } from './keys.js';
import { scanAll, unlinkOnNode, type RedisClient } from './redis-client.js';
import { SCRIPTS } from './scripts.js';

export { acquireRebuildLock, HeldLock, parseLockHolder, type LockAttempt, type LockHolder } from './rebuild-lock.js';

/**
 * Generations of the read model and their lifecycle, in Redis: which one is
 * active (the one owner of `<root>:{<root>}:active`; readers resolve it
 * through current(), active-generation.ts), the rebuild record, the switch
 * (one Lua call), the background deletion of retired generations once their
 * grace period is over (SCAN + UNLINK in small batches, on every master),
 * and verify's scratch leases. The rebuild lock is rebuild-lock.ts. Kafka
 * plays no part here. Every key here is in the `{<root>}` slot, so the
 * MULTIs and scripts below run on a Redis Cluster too.
 */

export type RebuildStatus = 'running' | 'switched' | 'done';

/** `<root>:rebuild`: the latest rebuild. Timings are recorded as they become known. */
export interface RebuildRecord {
  generation: number;
  status: RebuildStatus;
  consumerGroup: string;
  startedAt: number;
  /** The generation it replaced (set by the switch). */
  previous: number | null;
  switchedAt: number | null;
  finishedAt: number | null;
  /** Messages in the stream when the replay started (sum of high watermarks). */
  targetEvents: number | null;
  /** Replay rate, messages/s, from the first applied message to catch-up. */
  eventsPerSecond: number | null;
  /** From the first time every partition had caught up to the successful switch. */
  switchMs: number | null;
  /** The switch script's own round trip. */
  flipScriptMs: number | null;
  /** Keys of the previous generation deleted. */
  deletedKeys: number | null;
}

export type FlipResult =
  | { ok: true; previous: number | null }
  | { ok: false; reason: 'behind'; partition: number; applied: number | null; required: number }
  | { ok: false; reason: 'active_changed'; active: string | null }
  | { ok: false; reason: 'lock_lost' }
  | { ok: false; reason: 'not_rebuilding'; generation: string; status: string };

export interface DeleteProgress {
  generation: string;
  deleted: number;
}

export interface DeleteOptions {
  /** Keys per SCAN step; default 500. */
  count?: number;
  /** Pause after each batch deleted, ms; default 1. */
  pauseMs?: number;
  onProgress?: (p: DeleteProgress) => void;
  shouldStop?: () => boolean;
}

export interface GenerationsOptions {
  /** How long readers use a resolved active generation (ActiveGeneration's ttlMs); default 250 ms. */
  activeTtlMs?: number;
  /**
   * How long a retired generation stays whole after it was retired (the
   * switch) before its keys are deleted, so readers that resolved it before
   * the switch finish reading it; default 5000 ms. Longer than activeTtlMs
   * plus any request's duration.
   */
  graceMs?: number;
}

export const DEFAULT_GRACE_MS = 5000;

const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));

export class Generations {
  readonly keys: Keyspace;
  readonly graceMs: number;
  private readonly activeGeneration: ActiveGeneration;

  constructor(
    readonly redis: RedisClient,
    root: string,
    options: GenerationsOptions = {},
  ) {
    this.keys = keyspace(root);
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.activeGeneration = new ActiveGeneration(redis, this.keys, { ttlMs: options.activeTtlMs });
  }

  /** The active generation as of now (one GET, never cached): for the projector and operators. */
  async active(): Promise<number | null> {
    const v = await this.redis.get(this.keys.active);
    return v === null ? null : Number(v);
  }

  /**
   * The generation readers use, with its epoch and versionID: cached for
   * activeTtlMs (active-generation.ts); `fresh` asks Redis. A request
   * resolves it once and reads everything from it.
   */
  current(opts: { fresh?: boolean } = {}): Promise<ActiveSnapshot> {
    return this.activeGeneration.get(opts);
  }

  /**
   * The epoch: 16 random hex digits drawn once per key root (kept if there).
   * With the generation it makes the sync routes' versionID, so a Redis
   * emptied and started again never hands out an earlier versionID.
   */
  async ensureEpoch(): Promise<string> {
    await this.redis.set(this.keys.epoch, randomBytes(8).toString('hex'), 'NX');
    return (await this.redis.get(this.keys.epoch))!;
  }

  /** The active generation, creating generation 1 on an empty Redis (as the live projector does). */
  async ensureActive(): Promise<number> {
    await this.ensureEpoch();
    await this.redis.set(this.keys.active, '1', 'NX');
    this.activeGeneration.invalidate();
    return Number(await this.redis.get(this.keys.active));
  }

  async rebuildRecord(): Promise<RebuildRecord | null> {
    const h = await this.redis.hgetall(this.keys.rebuild);
    if (!h.generation) return null;
    return {
      generation: Number(h.generation),
      status: h.status as RebuildStatus,
      consumerGroup: h.consumerGroup ?? '',
      startedAt: Number(h.startedAt),
      previous: num(h.previous),
      switchedAt: num(h.switchedAt),
      finishedAt: num(h.finishedAt),
      targetEvents: num(h.targetEvents),
      eventsPerSecond: num(h.eventsPerSecond),
      switchMs: num(h.switchMs),
      flipScriptMs: num(h.flipScriptMs),
      deletedKeys: num(h.deletedKeys),
    };
  }

  /** Replace the rebuild record with a new running rebuild. */
  async startRebuild(r: { generation: number; consumerGroup: string; startedAt: number }): Promise<void> {
    await this.redis
      .multi()
      .del(this.keys.rebuild)
      .hset(this.keys.rebuild, {
        generation: r.generation,
        status: 'running',
        consumerGroup: r.consumerGroup,
        startedAt: r.startedAt,
      })
      .exec();
  }

  async updateRebuild(fields: Partial<Record<keyof RebuildRecord, string | number>>): Promise<void> {
    await this.redis.hset(this.keys.rebuild, fields as Record<string, string | number>);
  }

  /** Highest generation known (active, rebuilt, or still being deleted) + 1: numbers are never reused. */
  async nextGeneration(): Promise<number> {
    const [active, rebuilt, retired] = await Promise.all([
      this.active(),
      this.redis.hget(this.keys.rebuild, 'generation'),
      this.redis.smembers(this.keys.retired),
    ]);
    const known = [active ?? 0, Number(rebuilt ?? 0), ...retired.map(Number).filter(Number.isInteger)];
    return Math.max(0, ...known) + 1;
  }

  /**
   * Make `to` active if it has caught up with `from` on every partition (see
   * lua/flip.lua), `from` is still active and `to` is the running rebuild; the
   * same call retires `from` and marks the rebuild switched.
   */
  async flip(opts: { from: number | null; to: number; lockValue?: string; now?: number }): Promise<FlipResult> {
    const k = this.keys;
    const from = opts.from === null ? '' : String(opts.from);
    const reply = (await SCRIPTS.flip.run(
      this.redis,
      [k.active, k.rebuild, k.retired, k.retiredAt, k.rebuildLock, k.checkpoints(from), k.checkpoints(opts.to)],
      [opts.lockValue ?? '', from, String(opts.to), opts.now ?? Date.now()],
    )) as string[];
    switch (reply[0]) {
      case 'switched':
        this.activeGeneration.invalidate();
        return { ok: true, previous: opts.from };
      case 'behind':
        return { ok: false, reason: 'behind', partition: Number(reply[1]), applied: num(reply[2]), required: Number(reply[3]) };
      case 'active_changed':
        return { ok: false, reason: 'active_changed', active: reply[1] || null };
      case 'lock_lost':
        return { ok: false, reason: 'lock_lost' };
      default:
        return { ok: false, reason: 'not_rebuilding', generation: reply[1] ?? '', status: reply[2] ?? '' };
    }
  }

  async retired(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.retired)).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  }

  /**
   * Mark a generation for deletion, as of `at` (default now): `sweepRetired()`
   * (or `deleteGeneration`) removes its keys once the grace period is over.
   */
  async retire(gen: number | string, at = Date.now()): Promise<void> {
    await this.redis.multi().sadd(this.keys.retired, String(gen)).hset(this.keys.retiredAt, String(gen), at).exec();
  }

  /**
   * When generation `gen` may be deleted (ms): graceMs after it was retired
   * (the switch records the time; an older record's switchedAt serves for
   * its `previous`), or 0 when it never was (a scratch generation, never
   * active: nobody reads it).
   */
  async deletableAt(gen: number | string): Promise<number> {
    const generation = String(gen);
    const [at, record] = await Promise.all([this.redis.hget(this.keys.retiredAt, generation), this.rebuildRecord()]);
    const since = at !== null ? Number(at) : record !== null && String(record.previous) === generation ? record.switchedAt : null;
    return since === null ? 0 : since + this.graceMs;
  }

  /**
   * Delete every key of generation `gen` (its checkpoint included): SCAN
   * MATCH `<root>:<gen>:*` on every master, in batches of `count` keys,
   * UNLINK each batch on the node that holds it (freeing happens off Redis'
   * main thread), with a short pause between batches so Redis is never busy
   * with this for long. Refuses the active generation; waits first until its
   * grace period is over (deletableAt), stopping early if `shouldStop` says so.
   */
  async deleteGeneration(gen: number | string, opts: DeleteOptions = {}): Promise<{ deleted: number; complete: boolean }> {
    const generation = String(gen);
    if ((await this.redis.get(this.keys.active)) === generation) {
      throw new Error(`refusing to delete generation ${generation}: it is the active one`);
    }
    const until = await this.deletableAt(generation);
    for (let left = until - Date.now(); left > 0; left = until - Date.now()) {
      if (opts.shouldStop?.()) return { deleted: 0, complete: false };
      await sleep(Math.min(left, 100));
    }
    let deleted = 0;
    const pauseMs = opts.pauseMs ?? 1;
    const complete = await scanAll(this.redis, this.keys.generationPattern(generation), opts.count ?? 500, async (found, node) => {
      if (opts.shouldStop?.()) return false;
      deleted += await unlinkOnNode(this.redis, node, found);
      opts.onProgress?.({ generation, deleted });
      if (pauseMs > 0) await sleep(pauseMs);
    });
    return { deleted, complete };
  }

  /**
   * Finish deleting every retired generation whose grace period is over
   * (with `waitForGrace`, wait it out instead of leaving it to a later
   * sweep), and scratch generations whose lease ran out (a verify that was
   * killed). Never touches the active one or the one being rebuilt. Safe to
   * run from several processes at once.
   */
  async sweepRetired(opts: DeleteOptions & { waitForGrace?: boolean } = {}): Promise<DeleteProgress[]> {
    for (const gen of await this.redis.zrangebyscore(this.keys.scratch, '-inf', Date.now())) {
      await this.redis.multi().sadd(this.keys.retired, gen).zrem(this.keys.scratch, gen).exec();
    }
    const done: DeleteProgress[] = [];
    for (const gen of await this.retired()) {
      const [active, record] = await Promise.all([this.redis.get(this.keys.active), this.rebuildRecord()]);
      if (gen === active || (record?.status === 'running' && String(record.generation) === gen)) continue;
      if (!opts.waitForGrace && (await this.deletableAt(gen)) > Date.now()) continue; // still read, maybe: a later sweep
      const r = await this.deleteGeneration(gen, opts);
      if (!r.complete) break;
      await this.redis.multi().srem(this.keys.retired, gen).hdel(this.keys.retiredAt, gen).exec();
      done.push({ generation: gen, deleted: r.deleted });
    }
    return done;
  }

  /** Hold a scratch generation for `ttlMs` more; a sweep deletes it once the lease runs out. */
  async leaseScratch(gen: string, ttlMs: number): Promise<void> {
    await this.redis.zadd(this.keys.scratch, Date.now() + ttlMs, gen);
  }

  /** Give a scratch generation up: retired, for deletion. */
  async dropScratch(gen: string): Promise<void> {
    await this.redis.multi().sadd(this.keys.retired, gen).zrem(this.keys.scratch, gen).exec();
  }

  async scratchGenerations(): Promise<string[]> {
    return this.redis.zrange(this.keys.scratch, 0, -1);
  }

  async checkpoints(gen: number | string): Promise<Map<number, number>> {
    const h = await this.redis.hgetall(this.keys.checkpoints(gen));
    return new Map(Object.entries(h).map(([p, o]) => [Number(p), Number(o)]));
  }
}

