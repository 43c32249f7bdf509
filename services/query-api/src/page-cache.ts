import { isCluster, type RedisClient } from '@imgroups/read-model';
import type { Redis } from 'ioredis';
import { coalesceWrites } from './redis.js';

/**
 * Answered pages of get_joined_group_list kept in the process, and dropped
 * the moment Redis says a key they were read from changed: Redis's own
 * server-assisted client-side caching (CLIENT TRACKING, redirect mode).
 * Upstream OpenIM keeps process-local caches of group data too (localcache,
 * invalidated by delete notices its writers publish); here the writer needs
 * to know nothing: Redis tracks what the API read and tells it what changed.
 *
 * Why at all: a page read costs Redis a round trip and ~40 us of its CPU
 * for ten random cards, more than a whole answer of the bare HTTP ceiling
 * on the 2-core machines this runs on (bench/README.md). A cached page costs
 * neither.
 *
 * Freshness: an entry is served only while tracking is on and its keys have
 * not been reported changed. Redis queues the report with the write itself,
 * so a change shows in answers no later than the API's next read of its
 * tracking connection (the same event-loop turn in practice). Every entry
 * also ends after maxAgeMs, whatever happens. When either connection drops,
 * everything is forgotten and nothing is cached until tracking is on again.
 *
 * The race every such cache has: a read's reply and a change to what it read
 * come on two connections, in any order. A read takes a ticket before it
 * starts; its answer is kept only if no key it depends on was reported
 * changed since the ticket (changes are remembered for a while by key).
 *
 * One Redis only: off on a Redis Cluster (pageCacheSupported).
 */

export interface PageCacheOptions {
  /** Bytes of answers kept at most (bodies only); 0 turns the cache off. */
  maxBytes: number;
  /** An entry is never served older than this. */
  maxAgeMs: number;
  /** How long changes are remembered for reads in flight: longer than any read may take. */
  inFlightMs: number;
  now?: () => number;
}

export interface Ticket {
  readonly seq: number;
  readonly epoch: number;
  readonly at: number;
}

interface Entry {
  body: Buffer;
  deps: readonly string[];
  expires: number;
}

export interface PageCacheStats {
  hits: number;
  misses: number;
  /** Answers not kept because something they read changed while they were read. */
  raced: number;
  invalidations: number;
  readonly entries: number;
  readonly bytes: number;
}

export class PageCache {
  private readonly entries = new Map<string, Entry>();
  /** Redis key -> cache keys read from it. */
  private readonly dependents = new Map<string, Set<string>>();
  /** Redis key -> [seq, time] of its latest reported change, oldest first. */
  private readonly changed = new Map<string, [number, number]>();
  private seq = 0;
  /** seq at the latest "everything changed" (FLUSHDB, a lost connection). */
  private flushedAt = 0;
  private epoch = 0;
  private live = false;
  private bytes = 0;
  private readonly now: () => number;
  readonly stats: PageCacheStats;

  constructor(private readonly options: PageCacheOptions) {
    this.now = options.now ?? Date.now;
    const entries = () => this.entries.size;
    const bytes = () => this.bytes;
    this.stats = {
      hits: 0,
      misses: 0,
      raced: 0,
      invalidations: 0,
      get entries() {
        return entries();
      },
      get bytes() {
        return bytes();
      },
    };
  }

  get enabled(): boolean {
    return this.options.maxBytes > 0;
  }

  /** Tracking is on and its reports reach us: answers may be kept from now on. */
  setLive(live: boolean): void {
    if (!live) this.forgetAll();
    this.live = live && this.enabled;
  }

  get(key: string): Buffer | undefined {
    if (!this.live) return undefined;
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expires <= this.now()) {
      if (entry !== undefined) this.remove(key);
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return entry.body;
  }

  /** Before a read whose answer may be kept. */
  ticket(): Ticket | undefined {
    return this.live ? { seq: this.seq, epoch: this.epoch, at: this.now() } : undefined;
  }

  /** Keep `body` for `key` unless something it was read from changed since `ticket`. */
  put(ticket: Ticket | undefined, key: string, deps: readonly string[], body: Buffer): boolean {
    if (ticket === undefined || !this.live || ticket.epoch !== this.epoch) return false;
    const now = this.now();
    if (this.flushedAt > ticket.seq || now - ticket.at >= this.options.inFlightMs || body.length > this.options.maxBytes) {
      this.stats.raced++;
      return false;
    }
    for (const dep of deps) {
      const change = this.changed.get(dep);
      if (change !== undefined && change[0] > ticket.seq) {
        this.stats.raced++;
        return false;
      }
    }
    this.remove(key);
    while (this.bytes + body.length > this.options.maxBytes) this.remove(this.entries.keys().next().value!);
    this.entries.set(key, { body, deps, expires: now + this.options.maxAgeMs });
    this.bytes += body.length;
    for (const dep of deps) {
      let set = this.dependents.get(dep);
      if (set === undefined) this.dependents.set(dep, (set = new Set()));
      set.add(key);
    }
    return true;
  }

  /** Redis reported these keys changed; null: everything (FLUSHDB, FLUSHALL). */
  invalidate(keys: readonly string[] | null): void {
    this.seq++;
    this.stats.invalidations++;
    if (keys === null) {
      this.flushedAt = this.seq;
      this.forgetEntries();
      return;
    }
    const now = this.now();
    for (const k of keys) {
      this.changed.delete(k);
      this.changed.set(k, [this.seq, now]);
      const set = this.dependents.get(k);
      if (set !== undefined) for (const key of [...set]) this.remove(key);
    }
    // Changes older than any read in flight can no longer stop one from being kept.
    for (const [k, [, at]] of this.changed) {
      if (now - at < this.options.inFlightMs) break;
      this.changed.delete(k);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= entry.body.length;
    for (const dep of entry.deps) {
      const set = this.dependents.get(dep);
      if (set === undefined) continue;
      set.delete(key);
      if (set.size === 0) this.dependents.delete(dep);
    }
  }

  private forgetEntries(): void {
    this.entries.clear();
    this.dependents.clear();
    this.bytes = 0;
  }

  private forgetAll(): void {
    this.epoch++;
    this.forgetEntries();
    this.changed.clear();
  }
}

const INVALIDATE_CHANNEL = '__redis__:invalidate';

/**
 * Turns tracking on for `redis` (the connection whose reads the cache keeps)
 * with its reports sent to `subscriber` (a connection of its own, in
 * subscriber mode), on every (re)connect of either, and keeps `cache` live
 * only while both are up. Returns a function that stops listening.
 */
export function trackInvalidations(
  redis: Redis,
  subscriber: Redis,
  cache: PageCache,
  onError: (err: unknown) => void,
): () => void {
  let attempt = 0;
  // The subscriber's socket when it subscribed, and its client ID: a
  // reconnect is a new client, which must be asked its ID and subscribe again
  // (hence autoResubscribe off: once subscribed, a connection takes no CLIENT ID).
  let subscribedSocket: unknown;
  let subscriberId = '';
  const enable = async () => {
    const mine = ++attempt;
    cache.setLive(false);
    if (redis.status !== 'ready' || subscriber.status !== 'ready') return;
    try {
      if (subscribedSocket !== subscriber.stream) {
        const socket = subscriber.stream;
        const id = await subscriber.client('ID');
        await subscriber.subscribe(INVALIDATE_CHANNEL);
        [subscribedSocket, subscriberId] = [socket, String(id)];
      }
      await redis.client('TRACKING', 'ON', 'REDIRECT', subscriberId);
      if (mine === attempt) cache.setLive(true);
    } catch (err) {
      onError(err);
    }
  };
  const lost = () => {
    attempt++;
    cache.setLive(false);
  };
  const onMessage = (channel: Buffer, message: Buffer[] | Buffer | null) => {
    if (channel.toString() !== INVALIDATE_CHANNEL) return;
    cache.invalidate(Array.isArray(message) ? message.map((k) => k.toString()) : null);
  };
  subscriber.on('messageBuffer', onMessage);
  const onReady = () => void enable();
  redis.on('ready', onReady);
  subscriber.on('ready', onReady);
  redis.on('close', lost);
  subscriber.on('close', lost);
  void enable();
  return () => {
    lost();
    subscriber.off('messageBuffer', onMessage);
    redis.off('ready', onReady);
    subscriber.off('ready', onReady);
    redis.off('close', lost);
    subscriber.off('close', lost);
  };
}

/**
 * Whether the page cache can run on `redis`: one Redis, yes; a Redis
 * Cluster, no. CLIENT TRACKING is per connection and per node: every page
 * read connection to every master would need TRACKING ON with REDIRECT to a
 * subscriber connection on that same node (REDIRECT names a client of the
 * same server; ioredis speaks RESP2, so reports cannot come on the reading
 * connection itself), turned on again before any read on each new
 * connection. ioredis' Cluster client makes and replaces its node
 * connections itself (failover, resharding) with no hook to do that first,
 * and a replica promoted by a failover holds no tracking table, so a page
 * read from the failed master would never be reported changed and would be
 * served stale until QUERY_CACHE_MAX_AGE_MS. Rather than that, no cache.
 */
export function pageCacheSupported(redis: RedisClient): boolean {
  return !isCluster(redis);
}

/** The page cache's own connections; `reads` is where its pages are read. */
export interface PageCacheConnections {
  readonly reads: Redis;
  /** Stops tracking and drops both connections. */
  close(): void;
}

/**
 * Opens the cache's two connections, the API's own (options as `redis`):
 * page reads, tracked by Redis, and the one Redis reports their changes on;
 * and keeps tracking on across reconnects (trackInvalidations). Named for
 * CLIENT LIST: imgroups-query-api:<root>:page-reads / :invalidations.
 * None when the cache is off (always on a Redis Cluster): pages are then
 * read on `redis` itself.
 */
export function connectPageCache(
  cache: PageCache,
  redis: RedisClient,
  options: {
    /** REDIS_KEY_PREFIX, in the connections' names. */
    root: string;
    onConnectionError: (err: unknown) => void;
    /** Tracking could not be turned on; pages are read from Redis meanwhile. */
    onTrackingError: (err: unknown) => void;
  },
): PageCacheConnections | undefined {
  if (!cache.enabled || isCluster(redis)) return undefined;
  const connectionName = (role: string) => `imgroups-query-api:${options.root}:${role}`;
  const reads = redis.duplicate({ connectionName: connectionName('page-reads') });
  const invalidations = redis.duplicate({ autoResubscribe: false, connectionName: connectionName('invalidations') });
  coalesceWrites(reads);
  reads.on('error', options.onConnectionError);
  invalidations.on('error', options.onConnectionError);
  const stopTracking = trackInvalidations(reads, invalidations, cache, options.onTrackingError);
  return {
    reads,
    close() {
      stopTracking();
      reads.disconnect();
      invalidations.disconnect();
    },
  };
}
