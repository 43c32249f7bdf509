import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keyspace, type Keyspace } from './keys.js';
import { SCRIPTS } from './scripts.js';

/**
 * Generations of the read model and their lifecycle, in Redis: which one is
 * active (the one owner of `<root>:active`), the rebuild record, the switch (one Lua call), the background
 * deletion of retired generations (SCAN + UNLINK in small batches), the
 * rebuild lock and verify's scratch leases. Kafka plays no part here.
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

const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));

export class Generations {
  readonly keys: Keyspace;

  constructor(
    readonly redis: Redis,
    root: string,
  ) {
    this.keys = keyspace(root);
  }

  async active(): Promise<number | null> {
    const v = await this.redis.get(this.keys.active);
    return v === null ? null : Number(v);
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
    const reply = (await SCRIPTS.flip.run(this.redis, [
      k.active,
      k.rebuild,
      k.retired,
      k.rebuildLock,
      opts.lockValue ?? '',
      from,
      String(opts.to),
      k.checkpoints(from),
      k.checkpoints(opts.to),
      opts.now ?? Date.now(),
    ])) as string[];
    switch (reply[0]) {
      case 'switched':
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

  /** Mark a generation for deletion; `sweepRetired()` (or `deleteGeneration`) removes its keys. */
  async retire(gen: number | string): Promise<void> {
    await this.redis.sadd(this.keys.retired, String(gen));
  }

  /**
   * Delete every key of generation `gen`: SCAN MATCH `<root>:<gen>:*` in
   * batches of `count` keys, UNLINK each batch (freeing happens off Redis'
   * main thread), with a short pause between batches so Redis is never busy
   * with this for long. Refuses the active generation.
   */
  async deleteGeneration(
    gen: number | string,
    opts: { count?: number; pauseMs?: number; onProgress?: (p: DeleteProgress) => void; shouldStop?: () => boolean } = {},
  ): Promise<{ deleted: number; complete: boolean }> {
    const generation = String(gen);
    if ((await this.redis.get(this.keys.active)) === generation) {
      throw new Error(`refusing to delete generation ${generation}: it is the active one`);
    }
    let cursor = '0';
    let deleted = 0;
    do {
      if (opts.shouldStop?.()) return { deleted, complete: false };
      const [next, found] = await this.redis.scan(cursor, 'MATCH', this.keys.generationPattern(generation), 'COUNT', opts.count ?? 500);
      cursor = next;
      if (found.length > 0) {
        deleted += await this.redis.unlink(...found);
        opts.onProgress?.({ generation, deleted });
      }
      if (cursor !== '0' && (opts.pauseMs ?? 1) > 0) await new Promise((r) => setTimeout(r, opts.pauseMs ?? 1));
    } while (cursor !== '0');
    return { deleted, complete: true };
  }

  /**
   * Finish deleting every retired generation (and scratch generations whose
   * lease ran out: a verify that was killed). Never touches the active one or
   * the one being rebuilt. Safe to run from several processes at once.
   */
  async sweepRetired(
    opts: { count?: number; pauseMs?: number; onProgress?: (p: DeleteProgress) => void; shouldStop?: () => boolean } = {},
  ): Promise<DeleteProgress[]> {
    for (const gen of await this.redis.zrangebyscore(this.keys.scratch, '-inf', Date.now())) {
      await this.redis.multi().sadd(this.keys.retired, gen).zrem(this.keys.scratch, gen).exec();
    }
    const done: DeleteProgress[] = [];
    for (const gen of await this.retired()) {
      const [active, record] = await Promise.all([this.redis.get(this.keys.active), this.rebuildRecord()]);
      if (gen === active || (record?.status === 'running' && String(record.generation) === gen)) continue;
      const r = await this.deleteGeneration(gen, opts);
      if (!r.complete) break;
      await this.redis.srem(this.keys.retired, gen);
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

// ---------------------------------------------------------------------------
// The rebuild lock

/** What the lock's value says about its holder. */
export interface LockHolder {
  token: string;
  host: string;
  pid: number;
  startedAt: number;
}

export type LockAttempt =
  | { ok: true; lock: HeldLock }
  | { ok: false; holder: LockHolder | null; expiresInMs: number };

/**
 * A lock held by value: SET NX PX `ttlMs`, refreshed every `refreshMs` while
 * held; refresh and release only act while the value is still ours (lua/lock.lua).
 * `lost` settles when the lock can no longer be vouched for: someone else
 * holds it, or no refresh has succeeded for a whole TTL.
 */
export class HeldLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private resolveLost: (reason: string) => void = () => {};
  readonly lost: Promise<string>;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly value: string,
    readonly holder: LockHolder,
    private readonly ttlMs: number,
    refreshMs: number,
  ) {
    this.lost = new Promise((r) => {
      this.resolveLost = r;
    });
    let lastOk = Date.now();
    this.timer = setInterval(() => {
      SCRIPTS.lock.run(this.redis, [this.key, this.value, 'refresh', this.ttlMs]).then(
        (done) => {
          if (done === 1) lastOk = Date.now();
          else this.lose('the lock was taken over (it expired, or was deleted)');
        },
        (err: Error) => {
          if (Date.now() - lastOk > this.ttlMs) this.lose(`could not refresh the lock for ${this.ttlMs} ms: ${err.message}`);
        },
      );
    }, refreshMs);
    this.timer.unref();
  }

  private lose(reason: string) {
    if (this.released) return;
    clearInterval(this.timer);
    this.resolveLost(reason);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await SCRIPTS.lock.run(this.redis, [this.key, this.value, 'release']);
  }
}

export function parseLockHolder(raw: string | null): LockHolder | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as LockHolder;
    return typeof v.token === 'string' ? v : null;
  } catch {
    return null;
  }
}

/**
 * Take the rebuild lock, or say who holds it. `isStale(holder)` may declare a
 * holder dead (e.g. a process of this host that no longer exists): its lock
 * is then taken over at once instead of waiting for the TTL.
 */
export async function acquireRebuildLock(
  redis: Redis,
  root: string,
  me: Omit<LockHolder, 'token'> & { token: string },
  opts: { ttlMs?: number; refreshMs?: number; isStale?: (holder: LockHolder) => boolean } = {},
): Promise<LockAttempt> {
  const key = keyspace(root).rebuildLock;
  const ttlMs = opts.ttlMs ?? 30_000;
  const refreshMs = opts.refreshMs ?? Math.min(10_000, Math.floor(ttlMs / 3));
  const value = JSON.stringify(me);
  const held = () => ({ ok: true as const, lock: new HeldLock(redis, key, value, me, ttlMs, refreshMs) });
  if ((await redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK') return held();
  const raw = await redis.get(key);
  const holder = parseLockHolder(raw);
  if (raw !== null && holder && opts.isStale?.(holder)) {
    if ((await SCRIPTS.lock.run(redis, [key, raw, 'replace', ttlMs, value])) === 1) return held();
  }
  if (raw === null && (await redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK') return held(); // freed meanwhile
  return { ok: false, holder, expiresInMs: Math.max(0, await redis.pttl(key)) };
}
