import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Config } from '@imgroups/config';
import { highWatermarks } from '@imgroups/ops';
import { acquireRebuildLock, Generations, type FlipResult, type LockHolder, type RedisClient } from '@imgroups/read-model';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { build, type ProjectorConfig } from './app.js';
import { noProgress, RateMeter, type ProgressSink, type ReplayProgress } from './progress.js';

/**
 * Blue-green rebuild of the read model (docs/operations.md, "Rebuilding the projection").
 *
 * 1. Take the rebuild lock (one rebuild at a time).
 * 2. Generation N+1 (highest known + 1) is built from the earliest offset by
 *    the projector's own batch handling (build() with an explicit generation,
 *    its own consumer group, dead letters counted but not re-sent), while
 *    queries and the live projector keep using generation N.
 * 3. Once every partition has applied up to the high watermark seen at the
 *    start, FLIP_SCRIPT switches `<root>:active` to N+1, retrying after every
 *    poll until the live projector's checkpoints are not ahead of ours. The
 *    live projector needs no signal: its next chunk resolves the active
 *    generation and lands in N+1 (a chunk that raced the switch is sent
 *    there by its checkpoint call: read-model apply.ts).
 * 4. The rebuild's consumer stops; generation N is deleted in small SCAN +
 *    UNLINK batches.
 *
 * Resumable: the rebuild's consumer group commits offsets after applying, as
 * the live projector does, and `<root>:rebuild` records the generation and
 * group, so a rerun continues where a killed one stopped. `fresh` retires the
 * unfinished generation (deleted in the background) and starts over with a
 * new generation number, so also a new consumer group: consumer group
 * offsets cannot be reset on every broker (the mock has no OffsetDelete or
 * DeleteGroups), and a new name needs neither.
 */

export interface RebuildDeps {
  config: ProjectorConfig & Pick<Config, 'KAFKA_CLIENT_ID'>;
  redis: RedisClient;
  kafka: Kafka;
  logger: Logger;
  progress?: ProgressSink;
  /** Aborting stops the rebuild cleanly; it stays resumable. */
  signal?: AbortSignal;
  /** Rebuild lock TTL (default 30 s; refreshed every third of it, at most every 10 s). */
  lockTtlMs?: number;
  /** How often catch-up is checked and progress shown (default 50 ms). */
  pollMs?: number;
  /**
   * How long the previous generation stays whole after the switch before it
   * is deleted (default Generations' 5000 ms): queries that resolved it just
   * before the switch finish reading it.
   */
  graceMs?: number;
}

export interface RebuildOptions {
  /** Throw away an unfinished rebuild and start again from offset 0. */
  fresh?: boolean;
  /** false: stop once caught up, without switching (a later run switches). Default true. */
  switch?: boolean;
}

export interface RebuildResult {
  outcome: 'switched' | 'caught_up' | 'interrupted';
  generation: number;
  /** The generation it replaced (switched) or would replace. */
  previous: number | null;
  resumed: boolean;
  consumerGroup: string;
  /** Messages this run handled (applied, ignored, dead letters counted). */
  messages: number;
  deadLetters: number;
  /** Messages in the stream at the start (sum of high watermarks). */
  targetMessages: number;
  /** From the consumer running to every partition caught up. */
  replayMs: number | null;
  eventsPerSecond: number | null;
  /** From the first catch-up to the successful switch. */
  switchMs: number | null;
  /** The switch script's own round trip. */
  flipScriptMs: number | null;
  /** Keys of the previous generation deleted (this run). */
  deletedKeys: number;
  totalMs: number;
}

/** Another rebuild holds the lock. */
export class RebuildRefusedError extends Error {
  readonly code = 'REBUILD_RUNNING';
  constructor(
    message: string,
    readonly holder: LockHolder | null,
  ) {
    super(message);
    this.name = 'RebuildRefusedError';
  }
}

/** Lock tokens this process holds: a holder with our pid is stale unless listed here. */
const heldTokens = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A killed process whose parent died too stays a zombie until init reaps it.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc (macOS): signal 0 answered, so it exists
  }
}

/**
 * A holder on this host whose process is gone (killed rebuild): its lock is
 * taken over at once instead of after the TTL. Same pid as ours without our
 * token: a restarted container reusing the pid.
 */
export function isStaleHolder(holder: LockHolder, host = hostname()): boolean {
  if (holder.host !== host) return false;
  if (holder.pid === process.pid) return !heldTokens.has(holder.token);
  return !pidAlive(holder.pid);
}

export function refusalMessage(holder: LockHolder | null, expiresInMs: number): string {
  const who = holder
    ? `${holder.host} pid ${holder.pid}, running since ${new Date(holder.startedAt).toISOString()}`
    : 'an unknown holder';
  return (
    `another rebuild is running (${who}); refusing to start a second one. ` +
    `If that process is gone, its lock expires within ${Math.ceil(expiresInMs / 1000)} s; then run the rebuild again to resume it.`
  );
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

function describeRefusal(r: Exclude<FlipResult, { ok: true }>): string {
  switch (r.reason) {
    case 'behind':
      return `partition ${r.partition} is at ${r.applied ?? 'nothing'}, the active generation at ${r.required}`;
    case 'active_changed':
      return `the active generation changed under the rebuild (now ${r.active ?? 'none'})`;
    case 'lock_lost':
      return 'the rebuild lock was lost';
    case 'not_rebuilding':
      return `the rebuild record names generation ${r.generation || '-'} (${r.status || 'no status'})`;
  }
}

export async function runRebuild(deps: RebuildDeps, opts: RebuildOptions = {}): Promise<RebuildResult> {
  const { config, redis, kafka } = deps;
  const logger = deps.logger.child({ component: 'rebuild' });
  const progress = deps.progress ?? noProgress;
  const pollMs = deps.pollMs ?? 50;
  const startedAt = Date.now();
  const gens = new Generations(redis, config.REDIS_KEY_PREFIX, { graceMs: deps.graceMs });

  const me = { token: randomUUID(), host: hostname(), pid: process.pid, startedAt };
  const attempt = await acquireRebuildLock(redis, config.REDIS_KEY_PREFIX, me, {
    ...(deps.lockTtlMs !== undefined ? { ttlMs: deps.lockTtlMs } : {}),
    isStale: (holder) => {
      const stale = isStaleHolder(holder);
      if (stale) logger.warn({ holder }, 'the previous rebuild process is gone; taking its lock over');
      return stale;
    },
  });
  if (!attempt.ok) throw new RebuildRefusedError(refusalMessage(attempt.holder, attempt.expiresInMs), attempt.holder);
  const lock = attempt.lock;
  heldTokens.add(me.token);

  // One signal for every reason to stop: the caller's, or the lock lost.
  const abort = new AbortController();
  const onAbort = () => abort.abort(deps.signal?.reason);
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  if (deps.signal?.aborted) onAbort();
  let lockLost: string | undefined;
  void lock.lost.then((reason) => {
    lockLost = reason;
    abort.abort(new Error(`rebuild lock lost: ${reason}`));
  });

  const admin = kafka.admin();
  let projector: ReturnType<typeof build> | undefined;
  try {
    await admin.connect();
    const previous = await gens.ensureActive();

    // Resume the recorded rebuild, or start one.
    let record = await gens.rebuildRecord();
    const resumable = record?.status === 'running' && record.generation > previous;
    const resumed = resumable && !opts.fresh;
    if (!resumed) {
      if (resumable && record) {
        await gens.retire(record.generation);
        logger.info({ generation: record.generation }, 'starting over (--fresh): the unfinished generation is deleted in the background');
      }
      const generation = await gens.nextGeneration();
      await gens.startRebuild({ generation, consumerGroup: `${config.CONSUMER_GROUP}-rebuild-${generation}`, startedAt });
      record = await gens.rebuildRecord();
    }
    const { generation, consumerGroup } = record!;
    logger.info({ generation, previous, consumerGroup, resumed }, resumed ? 'resuming the rebuild' : 'rebuild started');

    // Leftovers of earlier runs (an old generation, a fresh start's), in the background.
    let deleted = 0;
    const sweeps: Promise<unknown>[] = [
      gens.sweepRetired({ shouldStop: () => abort.signal.aborted }).catch((err: Error) => logger.warn({ err: err.message }, 'deleting retired generations failed')),
    ];

    const target = await highWatermarks(admin, config.EVENTS_TOPIC);
    let hw = target;
    const targetMessages = [...target.values()].reduce((n, o) => n + o, 0);
    await gens.updateRebuild({ targetEvents: targetMessages });

    const title = `rebuild of generation ${generation}`;
    const view = (phase: ReplayProgress['phase'], ckpt: Map<number, number>, rate: number | null, extra: Partial<ReplayProgress> = {}): ReplayProgress => ({
      title,
      phase,
      partitions: [...hw.entries()].sort(([a], [b]) => a - b).map(([partition, total]) => ({ partition, total, applied: (ckpt.get(partition) ?? -1) + 1 })),
      rate,
      ...extra,
    });
    progress.update(view('joining', await gens.checkpoints(generation), null));

    projector = build({
      config,
      redis,
      kafka,
      logger,
      generation,
      groupId: consumerGroup,
      deadLetters: 'count',
    });
    let crashed: Error | undefined;
    projector.crashed.catch((err: Error) => {
      crashed = err;
      abort.abort(err);
    });
    await projector.start();
    const runningAt = Date.now();

    const meter = new RateMeter();
    let caughtUpAt: number | null = null;
    let switchedAt: number | null = null;
    let flipScriptMs: number | null = null;
    let lastHw = Date.now();
    let lastRefusal = '';
    let outcome: RebuildResult['outcome'] = 'interrupted';
    while (!abort.signal.aborted) {
      const ckpt = await gens.checkpoints(generation);
      const done = [...ckpt.values()].reduce((n, o) => n + o + 1, 0);
      if (Date.now() - lastHw > 2000) {
        // Only for the display: the stream keeps growing while we replay.
        hw = await highWatermarks(admin, config.EVENTS_TOPIC).catch(() => hw);
        lastHw = Date.now();
      }
      const caughtUp = [...target].every(([p, high]) => (ckpt.get(p) ?? -1) >= high - 1);
      progress.update(view(!caughtUp ? 'replaying' : opts.switch === false ? 'done' : 'switching', ckpt, meter.add(done)));
      if (caughtUp) {
        caughtUpAt ??= Date.now();
        if (opts.switch === false) {
          outcome = 'caught_up';
          break;
        }
        const t0 = performance.now();
        const flipped = await gens.flip({ from: previous, to: generation, lockValue: lock.value });
        const took = performance.now() - t0;
        if (flipped.ok) {
          switchedAt = Date.now();
          flipScriptMs = Math.round(took * 1000) / 1000;
          outcome = 'switched';
          break;
        }
        if (flipped.reason !== 'behind') throw new Error(`cannot switch to generation ${generation}: ${describeRefusal(flipped)}`);
        // The live projector applied events we have not yet: keep replaying, try again.
        const why = describeRefusal(flipped);
        if (why !== lastRefusal) logger.debug({ why }, 'not switching yet');
        lastRefusal = why;
      }
      await sleep(pollMs, abort.signal);
    }
    if (crashed) throw crashed;
    if (lockLost) throw new Error(`rebuild lock lost: ${lockLost}`);

    const stats = projector.stats;
    // Stopping waits out the consumer's in-flight long-poll fetch (up to 5 s):
    // after a switch it runs beside the deletion; what the consumer still
    // applies to the new generation meanwhile is a duplicate or in order.
    const stopping = projector.stop().catch((err: Error) => logger.warn({ err: err.message }, 'stopping the replay consumer failed'));
    projector = undefined;
    if (outcome !== 'switched') await stopping;
    const replayMs = caughtUpAt === null ? null : caughtUpAt - runningAt;
    // Messages replayed by this run: with a resume, only what was left.
    const eventsPerSecond = replayMs === null || stats.messages === 0 ? null : Math.round((stats.messages * 1000) / Math.max(1, replayMs));
    const switchMs = switchedAt !== null && caughtUpAt !== null ? switchedAt - caughtUpAt : null;
    const result: RebuildResult = {
      outcome,
      generation,
      previous,
      resumed,
      consumerGroup,
      messages: stats.messages,
      deadLetters: stats.deadLettered,
      targetMessages,
      replayMs,
      eventsPerSecond,
      switchMs,
      flipScriptMs,
      deletedKeys: 0,
      totalMs: 0,
    };
    if (outcome === 'switched') {
      await gens.updateRebuild({ eventsPerSecond: eventsPerSecond ?? '', switchMs: switchMs ?? '', flipScriptMs: flipScriptMs ?? '' });
      logger.info({ generation, previous, switchMs, flipScriptMs, eventsPerSecond }, 'switched: queries and the live projector now use the new generation');
      // The old generation, once its grace period is over (queries that
      // resolved it just before the switch finish reading it), in small
      // batches; anything left unfinished is in `<root>:{<root>}:retired` and
      // the next rebuild or `status` finishes it.
      await Promise.all(sweeps);
      const last = await gens.checkpoints(generation);
      logger.info({ previous, graceMs: gens.graceMs }, 'the old generation stays whole for the grace period, then is deleted');
      const finished = await gens.sweepRetired({
        waitForGrace: true,
        shouldStop: () => abort.signal.aborted,
        onProgress: (p) => progress.update(view('deleting', last, null, { deleted: deleted + p.deleted })),
      });
      for (const f of finished) deleted += f.deleted;
      result.deletedKeys = finished.find((f) => f.generation === String(previous))?.deleted ?? 0;
      if (!(await gens.retired()).includes(String(previous))) {
        await gens.updateRebuild({ status: 'done', finishedAt: Date.now(), deletedKeys: result.deletedKeys });
      }
      progress.update(view('done', last, null, { deleted }));
      await stopping;
    } else {
      await Promise.all(sweeps);
    }
    result.totalMs = Date.now() - startedAt;
    return result;
  } finally {
    progress.end();
    deps.signal?.removeEventListener('abort', onAbort);
    if (projector) await projector.stop().catch(() => {});
    await admin.disconnect().catch(() => {});
    heldTokens.delete(me.token);
    await lock.release().catch(() => {});
  }
}
