import { keyspace } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { SCRIPTS } from './scripts.js';

/**
 * The rebuild lock (`<root>:{<root>}:rebuild:lock`): one rebuild at a time,
 * held by value and refreshed (lua/lock.lua). Generations' neighbour:
 * generations.ts re-exports it.
 */

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
    private readonly redis: RedisClient,
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
      SCRIPTS.lock.run(this.redis, [this.key], [this.value, 'refresh', this.ttlMs]).then(
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
    await SCRIPTS.lock.run(this.redis, [this.key], [this.value, 'release']);
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
  redis: RedisClient,
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
    if ((await SCRIPTS.lock.run(redis, [key], [raw, 'replace', ttlMs, value])) === 1) return held();
  }
  if (raw === null && (await redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK') return held(); // freed meanwhile
  return { ok: false, holder, expiresInMs: Math.max(0, await redis.pttl(key)) };
}
