import type { Keyspace } from './keys.js';
import type { RedisClient } from './redis-client.js';

/**
 * Which generation the reads use, resolved outside the scripts: on a Redis
 * Cluster the generation bookkeeping (`{<root>}`) and a user's or a group's
 * keys are in different slots, so no script can read `active` and then the
 * data. A request resolves the generation once and passes it to every step
 * it takes (a snapshot of one generation, never a mix).
 *
 * One MGET of `active` and `epoch` (one slot), kept for `ttlMs` (default
 * 250 ms): a generation switch reaches the readers within that time. A
 * retired generation stays whole for a grace period longer than that plus a
 * request's duration (Generations' graceMs), so a reader that resolved it
 * just before the switch still reads it whole.
 */

export interface ActiveSnapshot {
  /** The active generation, null when none is active yet. */
  readonly generation: number | null;
  /** The key root's epoch (16 hex digits), null before the first generation was made. */
  readonly epoch: string | null;
  /** The sync routes' versionID of this generation (versionIDOf). */
  readonly versionID: string;
}

/**
 * The sync routes' versionID: the epoch's 16 hex digits and the generation's
 * 8, so 24 hex digits like upstream's (a MongoDB ObjectID); '' without an
 * epoch (a deployment that predates it until its projector starts) or
 * without an active generation.
 */
export function versionIDOf(generation: number | null, epoch: string | null): string {
  if (generation === null || epoch === null) return '';
  return epoch + generation.toString(16).padStart(8, '0');
}

export interface ActiveGenerationOptions {
  /** How long a resolved generation is used before asking Redis again; 0: every call asks. Default 250. */
  ttlMs?: number;
  now?: () => number;
}

export const DEFAULT_ACTIVE_TTL_MS = 250;

export class ActiveGeneration {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private cached: { snapshot: ActiveSnapshot; at: number } | undefined;
  /** The read in flight, shared by the calls that come while it is (ttlMs > 0 only). */
  private pending: Promise<ActiveSnapshot> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    options: ActiveGenerationOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_ACTIVE_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * The active generation and epoch: cached while younger than ttlMs, read
   * from Redis otherwise, or always with `fresh` (a reader that found the
   * generation it used gone).
   */
  get(opts: { fresh?: boolean } = {}): Promise<ActiveSnapshot> {
    const cached = this.cached;
    if (!opts.fresh && cached !== undefined && this.now() - cached.at < this.ttlMs) return Promise.resolve(cached.snapshot);
    if (!opts.fresh && this.ttlMs > 0 && this.pending !== undefined) return this.pending;
    const read = this.read();
    this.pending = read;
    const done = () => {
      if (this.pending === read) this.pending = undefined;
    };
    read.then(done, done);
    return read;
  }

  /** Forget the cached generation: the next get() reads Redis. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async read(): Promise<ActiveSnapshot> {
    const at = this.now();
    const [active, epoch] = await this.redis.mget(this.keys.active, this.keys.epoch);
    const generation = active === null ? null : Number(active);
    const snapshot: ActiveSnapshot = { generation, epoch: epoch ?? null, versionID: versionIDOf(generation, epoch ?? null) };
    // A slower read never replaces a newer one's answer.
    if (this.cached === undefined || this.cached.at <= at) this.cached = { snapshot, at };
    return snapshot;
  }
}
