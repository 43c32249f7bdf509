import { decodeEvent } from '@imgroups/contracts';
import { ReadModel, type PositionedEvent, type RedisClient } from '@imgroups/read-model';
import { prng } from '@imgroups/testing';
import { TextMaker } from './text.js';

/**
 * The query bench's read model: `groups` groups with realistic field sizes,
 * `users10` users in 10 groups each, `users1k` users in 1,000 each and one user
 * in every group (100,000 by default). Every group is created by one
 * group.created event carrying all its members, serialized as the projector
 * gets it (buildQueryWorkload, once per run), then decoded and validated and
 * applied through ReadModel.apply (loadQueryWorkload, once per topology: the
 * same bytes into one Redis and into a Cluster): the cards, info hashes and
 * member sets are the product's own, not a bench imitation.
 * Owners come from a pool of their own (each owns ~5 groups).
 */
export interface QueryWorkload {
  groups: number;
  users10: string[];
  users1k: string[];
  bigUser: string;
  memberships: number;
  /** Every group's event as bytes off the topic, in group order, with its partition. */
  events: { partition: number; bytes: Buffer }[];
  buildSeconds: number;
}

export interface QueryWorkloadOptions {
  groups: number;
  users10: number;
  users1k: number;
  seed: number;
}

export interface LoadedWorkload {
  generation: number;
  loadSeconds: number;
}

const PARTITIONS = 12;
const CHUNK = 500;
const DAY_MS = 86_400_000;

/** Distinct random picks of `k` out of 0..n-1 (k much smaller than n). */
function pickDistinct(rand: () => number, n: number, k: number): number[] {
  const chosen = new Set<number>();
  while (chosen.size < k) chosen.add(Math.floor(rand() * n));
  return [...chosen];
}

/**
 * Upstream's cache of a user's joined group IDs (open-im-server keeps the whole
 * list as one cached value per user). Only the bench's baseline route reads it;
 * it is no key of the read model, so it is spelled here and not in keys.ts.
 */
export function upstreamJoinedKey(root: string, userID: string): string {
  return `${root}:bench-upstream:{u:${userID}}:joinedIDs`;
}

/** The workload's events, serialized; nothing written anywhere yet. */
export function buildQueryWorkload(opts: QueryWorkloadOptions): QueryWorkload {
  const started = performance.now();
  const rand = prng(opts.seed);
  const text = new TextMaker(rand);

  const users10 = Array.from({ length: opts.users10 }, (_, i) => `u10-${i}`);
  const users1k = Array.from({ length: opts.users1k }, (_, i) => `u1k-${i}`);
  const bigUser = `u100k-0`;
  const ownerPool = Math.max(1, Math.floor(opts.groups / 5));

  const membersOf: string[][] = Array.from({ length: opts.groups }, () => [bigUser]);
  for (const u of users1k) for (const g of pickDistinct(rand, opts.groups, Math.min(1000, opts.groups))) membersOf[g]!.push(u);
  for (const u of users10) for (const g of pickDistinct(rand, opts.groups, Math.min(10, opts.groups))) membersOf[g]!.push(u);

  const now = Date.now();
  const events: QueryWorkload['events'] = [];
  let memberships = 0;
  for (let g = 0; g < opts.groups; g++) {
    const groupID = `grp-${g}`;
    const owner = `owner-${Math.floor(rand() * ownerPool)}`;
    const createTime = now - text.int(30, 720) * DAY_MS;
    const joinTime = () => createTime + Math.floor(rand() * (now - createTime));
    const members = [
      { userID: owner, roleLevel: 100, joinTime: createTime, joinSource: 1 },
      ...membersOf[g]!.map((userID) => ({ userID, roleLevel: 20, joinTime: joinTime(), joinSource: text.int(1, 4), inviterUserID: owner })),
    ];
    memberships += members.length;
    const raw = {
      eventID: `load-${g}`,
      type: 'group.created',
      version: 1,
      groupID,
      occurredAt: createTime,
      operatorUserID: owner,
      data: {
        group: { ...text.groupFields(), ownerUserID: owner, creatorUserID: owner, createTime, groupType: 2, notificationUserID: owner, notificationUpdateTime: createTime },
        members,
      },
    };
    events.push({ partition: g % PARTITIONS, bytes: Buffer.from(JSON.stringify(raw)) });
  }
  return { groups: opts.groups, users10, users1k, bigUser, memberships, events, buildSeconds: (performance.now() - started) / 1000 };
}

/**
 * The workload into `redis` (one Redis or a Cluster) under `root`: each event
 * decoded and validated as the projector does, applied by ReadModel.apply in
 * chunks of 500 per partition; then upstream's cached list of the big user.
 */
export async function loadQueryWorkload(
  redis: RedisClient,
  workload: QueryWorkload,
  opts: { root: string; dedupeWindow: number },
): Promise<LoadedWorkload> {
  const started = performance.now();
  const readModel = new ReadModel(redis, { root: opts.root, dedupeWindow: opts.dedupeWindow });
  const generation = await readModel.generations.ensureActive();

  const offsets = new Array<number>(PARTITIONS).fill(0);
  const pending: PositionedEvent[][] = Array.from({ length: PARTITIONS }, () => []);
  const flush = async (p: number) => {
    const events = pending[p]!;
    if (events.length === 0) return;
    pending[p] = [];
    await readModel.apply(null, p, events, events[events.length - 1]!.offset);
  };
  for (const { partition: p, bytes } of workload.events) {
    // As the projector gets it: bytes off the topic, decoded and validated.
    const decoded = decodeEvent(bytes);
    if (!decoded.ok) throw new Error(`bench workload event does not decode: ${decoded.reason}`);
    pending[p]!.push({ offset: String(offsets[p]!++), event: decoded.event });
    if (pending[p]!.length === CHUNK) await flush(p);
  }
  for (let p = 0; p < PARTITIONS; p++) await flush(p);

  // The baseline's cached list for the big user: the whole list in list order, one JSON string.
  const ids = await readModel.readJoinedGroupIDs(workload.bigUser);
  await redis.set(upstreamJoinedKey(opts.root, workload.bigUser), JSON.stringify(ids.groupIDs));

  return { generation, loadSeconds: (performance.now() - started) / 1000 };
}
