import { randomBytes } from 'node:crypto';
import type { Config } from '@imgroups/config';
import { highWatermarks } from '@imgroups/ops';
import { Generations, getMany, perKey, scanAll, type EntityKey, type RedisClient } from '@imgroups/read-model';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { build, type ProjectorConfig } from './app.js';
import { noProgress, RateMeter, type ProgressSink } from './progress.js';

/**
 * `verify`: replay the whole stream into a scratch generation (same batch
 * handling as the projector, its own consumer group, dead letters counted
 * only) and compare it with the active generation: every user's joined list
 * (group IDs and join times) and every group's card (every GroupInfo field,
 * memberCount included).
 *
 * Comparing two things that move: the live projector keeps applying while we
 * replay. The comparison starts only when the active generation's
 * checkpoints equal the replay's on every partition (both have applied
 * exactly the same offsets). If either moved during the pass, the keys that
 * differed are compared again at the next moment the checkpoints are equal:
 * a difference that is only the live projector being a few events ahead goes
 * away, a real one stays. Keys that matched are not re-read.
 */

export interface VerifyDeps {
  config: ProjectorConfig & Pick<Config, 'KAFKA_CLIENT_ID'>;
  redis: RedisClient;
  kafka: Kafka;
  logger: Logger;
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** Give up waiting for the replay and the active generation to meet (default 120 s). */
  timeoutMs?: number;
  /** Rounds of re-comparing differences while the stream moves (default 10). */
  maxRounds?: number;
  /** Mismatches kept in the result (default 50). */
  maxShown?: number;
}

export interface VerifyResult {
  equal: boolean;
  generation: number;
  scratch: string;
  users: number;
  groups: number;
  /** Total mismatching users and groups. */
  mismatchCount: number;
  /** The first `maxShown`, as text. */
  mismatches: string[];
  /** The partition offsets both had applied when compared. */
  comparedAt: Record<string, number>;
  /** Messages replayed. */
  messages: number;
  ms: number;
}

/** The replay could not be compared (no active generation, never at the same offsets, interrupted). */
export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyError';
  }
}

interface Candidates {
  users: Set<string>;
  groups: Set<string>;
}

const SCRATCH_LEASE_MS = 60_000;

function sameOffsets(a: Map<number, number>, b: Map<number, number>): boolean {
  const all = new Set([...a.keys(), ...b.keys()]);
  for (const p of all) if ((a.get(p) ?? -1) !== (b.get(p) ?? -1)) return false;
  return true;
}

export async function runVerify(deps: VerifyDeps): Promise<VerifyResult> {
  const { config, redis, kafka } = deps;
  const logger = deps.logger.child({ component: 'verify' });
  const progress = deps.progress ?? noProgress;
  const started = Date.now();
  const gens = new Generations(redis, config.REDIS_KEY_PREFIX);
  const keys = gens.keys;
  const signal = deps.signal ?? new AbortController().signal;

  let active = await gens.active();
  if (active === null) throw new VerifyError('no active generation: nothing to verify (has the projector ever run?)');

  const id = randomBytes(4).toString('hex');
  const scratch = `verify-${id}`;
  await gens.leaseScratch(scratch, SCRATCH_LEASE_MS);
  const lease = setInterval(() => void gens.leaseScratch(scratch, SCRATCH_LEASE_MS).catch(() => {}), SCRATCH_LEASE_MS / 4);
  lease.unref();
  const admin = kafka.admin();
  const projector = build({ config, redis, kafka, logger, generation: scratch, groupId: `${config.CONSUMER_GROUP}-verify-${id}`, deadLetters: 'count' });
  try {
    await admin.connect();
    const target = await highWatermarks(admin, config.EVENTS_TOPIC);
    await admin.disconnect();
    logger.info({ active, scratch }, 'replaying the stream into a scratch generation');
    const title = `verify of generation ${active}`;
    const view = (phase: 'joining' | 'replaying' | 'comparing', ckpt: Map<number, number>, rate: number | null) => ({
      title,
      phase,
      partitions: [...target.entries()].sort(([a], [b]) => a - b).map(([partition, total]) => ({ partition, total, applied: (ckpt.get(partition) ?? -1) + 1 })),
      rate,
    });
    progress.update(view('joining', new Map(), null));
    await projector.start();

    const deadline = Date.now() + (deps.timeoutMs ?? 120_000);
    const meter = new RateMeter();
    const pause = () => new Promise((r) => setTimeout(r, 50));
    // 1. Replay up to where the stream was when we started.
    for (;;) {
      if (signal.aborted) throw new VerifyError('interrupted');
      const ckpt = await gens.checkpoints(scratch);
      const done = [...ckpt.values()].reduce((n, o) => n + o + 1, 0);
      progress.update(view('replaying', ckpt, meter.add(done)));
      if ([...target].every(([p, high]) => (ckpt.get(p) ?? -1) >= high - 1)) break;
      if (Date.now() > deadline) throw new VerifyError('the replay did not catch up in time');
      await pause();
    }

    // 2. Compare at equal checkpoints; re-compare what differed while things moved.
    let candidates: Candidates | 'all' = 'all';
    let found: Map<string, string> = new Map();
    let users = 0;
    let groups = 0;
    let comparedAt: Map<number, number> = new Map();
    for (let round = 1; ; round++) {
      for (;;) {
        if (signal.aborted) throw new VerifyError('interrupted');
        const now = await gens.active();
        if (now !== active) {
          logger.info({ from: active, to: now }, 'the active generation switched during verify; comparing with the new one');
          active = now;
          candidates = 'all';
          if (active === null) throw new VerifyError('the active generation disappeared');
        }
        const [a, s] = await Promise.all([gens.checkpoints(active), gens.checkpoints(scratch)]);
        if (sameOffsets(a, s)) {
          comparedAt = a;
          break;
        }
        if (Date.now() > deadline) {
          throw new VerifyError(
            `the active generation (${JSON.stringify(Object.fromEntries(a))}) and the replay (${JSON.stringify(Object.fromEntries(s))}) ` +
              'never stood at the same offsets: is the live projector running and keeping up?',
          );
        }
        await pause();
      }
      progress.update(view('comparing', comparedAt, null));
      const pass = await compare(redis, keys, active, scratch, candidates);
      if (candidates === 'all') {
        users = pass.users;
        groups = pass.groups;
      }
      found = pass.mismatches;
      const [a1, s1] = await Promise.all([gens.checkpoints(active), gens.checkpoints(scratch)]);
      const settled = sameOffsets(a1, comparedAt) && sameOffsets(s1, comparedAt);
      if (settled || found.size === 0 || round >= (deps.maxRounds ?? 10)) break;
      logger.debug({ round, differing: found.size }, 'the stream moved during the comparison; comparing the differences again');
      candidates = { users: new Set(), groups: new Set() };
      for (const k of found.keys()) {
        const [kind, idValue] = [k.slice(0, 1), k.slice(2)];
        (kind === 'u' ? candidates.users : candidates.groups).add(idValue);
      }
    }
    const shown = [...found.values()].slice(0, deps.maxShown ?? 50);
    return {
      equal: found.size === 0,
      generation: active,
      scratch,
      users,
      groups,
      mismatchCount: found.size,
      mismatches: shown,
      comparedAt: Object.fromEntries(comparedAt),
      messages: projector.stats.messages,
      ms: Date.now() - started,
    };
  } finally {
    progress.end();
    clearInterval(lease);
    await projector.stop().catch(() => {});
    await admin.disconnect().catch(() => {});
    // Retired first: if this process dies now, the next sweep finishes the job.
    await gens.dropScratch(scratch);
    const r = await gens.deleteGeneration(scratch);
    if (r.complete) await redis.srem(keys.retired, scratch);
  }
}

// ---------------------------------------------------------------------------

type Keys = Generations['keys'];

/** IDs of the entities of one kind in a generation, from their key names. */
async function idsOf(redis: RedisClient, keys: Keys, kind: EntityKey, gen: number | string): Promise<Set<string>> {
  const marker = '\u0000';
  const [prefix, suffix] = keys.entity(kind, gen, marker).split(marker) as [string, string];
  const out = new Set<string>();
  await scanAll(redis, keys.entity(kind, gen, '*'), 1000, async (batch) => {
    for (const k of batch) if (k.startsWith(prefix) && k.endsWith(suffix)) out.add(k.slice(prefix.length, k.length - suffix.length));
  });
  return out;
}

const listText = (flat: string[]) => {
  const items: string[] = [];
  for (let i = 0; i < flat.length; i += 2) items.push(`${flat[i]}@${flat[i + 1]}`);
  return items.length > 6 ? `[${items.slice(0, 6).join(', ')}, … ${items.length} in all]` : `[${items.join(', ')}]`;
};

function joinedDiff(userID: string, active: string[], replay: string[]): string {
  const a = new Map<string, string>();
  const r = new Map<string, string>();
  for (let i = 0; i < active.length; i += 2) a.set(active[i]!, active[i + 1]!);
  for (let i = 0; i < replay.length; i += 2) r.set(replay[i]!, replay[i + 1]!);
  const onlyActive = [...a.keys()].filter((g) => !r.has(g));
  const onlyReplay = [...r.keys()].filter((g) => !a.has(g));
  const time = [...a.keys()].filter((g) => r.has(g) && r.get(g) !== a.get(g)).map((g) => `${g} joined ${a.get(g)} vs ${r.get(g)}`);
  const parts = [
    onlyActive.length ? `only in active: ${onlyActive.slice(0, 10).join(', ')}` : '',
    onlyReplay.length ? `missing from active: ${onlyReplay.slice(0, 10).join(', ')}` : '',
    time.length ? `join times differ: ${time.slice(0, 5).join('; ')}` : '',
  ].filter(Boolean);
  return `user ${userID}: joined list differs (active ${active.length / 2} groups ${listText(active)}, replay ${replay.length / 2} groups ${listText(replay)})${parts.length ? `: ${parts.join('; ')}` : ''}`;
}

function cardDiff(groupID: string, active: string | null, replay: string | null): string {
  if (active === null) return `group ${groupID}: card missing from active (replay: ${replay})`;
  if (replay === null) return `group ${groupID}: card only in active (${active}); the replay has none (unknown or dismissed)`;
  const a = JSON.parse(active) as Record<string, unknown>;
  const r = JSON.parse(replay) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(r)])].filter((f) => JSON.stringify(a[f]) !== JSON.stringify(r[f]));
  return `group ${groupID}: card differs: ${fields.map((f) => `${f} active ${JSON.stringify(a[f])} vs replay ${JSON.stringify(r[f])}`).join('; ')}`;
}

/** Mismatches keyed `u:<userID>` / `g:<groupID>`. */
async function compare(
  redis: RedisClient,
  keys: Keys,
  active: number,
  scratch: string,
  candidates: Candidates | 'all',
): Promise<{ users: number; groups: number; mismatches: Map<string, string> }> {
  let userIDs: string[];
  let groupIDs: string[];
  if (candidates === 'all') {
    const [ua, us, ga, gs] = await Promise.all([
      idsOf(redis, keys, 'userJoined', active),
      idsOf(redis, keys, 'userJoined', scratch),
      idsOf(redis, keys, 'groupCard', active),
      idsOf(redis, keys, 'groupCard', scratch),
    ]);
    userIDs = [...new Set([...ua, ...us])];
    groupIDs = [...new Set([...ga, ...gs])];
  } else {
    userIDs = [...candidates.users];
    groupIDs = [...candidates.groups];
  }
  const mismatches = new Map<string, string>();
  const BATCH = 200;
  for (let i = 0; i < userIDs.length; i += BATCH) {
    const ids = userIDs.slice(i, i + BATCH);
    const [a, b] = await Promise.all(
      [active, scratch].map(
        (gen) => perKey(redis, ids.map((u) => keys.entity('userJoined', gen, u)), (p, key) => p.zrange(key, 0, -1, 'WITHSCORES')) as Promise<string[][]>,
      ),
    );
    ids.forEach((u, j) => {
      const [av, sv] = [a![j]!, b![j]!];
      if (av.join('\u0000') !== sv.join('\u0000')) mismatches.set(`u:${u}`, joinedDiff(u, av, sv));
    });
  }
  for (let i = 0; i < groupIDs.length; i += BATCH) {
    const ids = groupIDs.slice(i, i + BATCH);
    const [a, b] = await Promise.all([active, scratch].map((gen) => getMany(redis, ids.map((g) => keys.entity('groupCard', gen, g)))));
    ids.forEach((g, j) => {
      const [x, y] = [a![j]?.toString() ?? null, b![j]?.toString() ?? null];
      if (x !== y) mismatches.set(`g:${g}`, cardDiff(g, x, y));
    });
  }
  return { users: userIDs.length, groups: groupIDs.length, mismatches };
}
