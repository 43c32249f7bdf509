import { decodeEvent } from '@imgroups/contracts';
import { ReadModel, type PositionedEvent } from '@imgroups/read-model';
import { prng } from '@imgroups/testing';
import type { Redis } from 'ioredis';
import { TextMaker } from './text.js';

/**
 * The query bench's read model: `groups` groups with realistic field sizes,
 * `users10` users in 10 groups each, `users1k` users in 1,000 each and one user
 * in every group (100,000 by default). Every group is created by one
 * group.created event carrying all its members, serialized and decoded as the
 * projector gets it, and applied through ReadModel.apply: the cards, info
 * hashes and member sets are the product's own, not a bench imitation.
 * Owners come from a pool of their own (each owns ~5 groups).
 */
export interface QueryWorkload {
  generation: number;
  groups: number;
  users10: string[];
  users1k: string[];
  bigUser: string;
  memberships: number;
  loadSeconds: number;
}

export interface QueryWorkloadOptions {
  root: string;
  groups: number;
  users10: number;
  users1k: number;
  seed: number;
  dedupeWindow: number;
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

export async function loadQueryWorkload(redis: Redis, opts: QueryWorkloadOptions): Promise<QueryWorkload> {
  const started = performance.now();
  const rand = prng(opts.seed);
  const text = new TextMaker(rand);
  const readModel = new ReadModel(redis, { root: opts.root, dedupeWindow: opts.dedupeWindow });
  const generation = await readModel.generations.ensureActive();

  const users10 = Array.from({ length: opts.users10 }, (_, i) => `u10-${i}`);
  const users1k = Array.from({ length: opts.users1k }, (_, i) => `u1k-${i}`);
  const bigUser = `u100k-0`;
  const ownerPool = Math.max(1, Math.floor(opts.groups / 5));

  const membersOf: string[][] = Array.from({ length: opts.groups }, () => [bigUser]);
  for (const u of users1k) for (const g of pickDistinct(rand, opts.groups, Math.min(1000, opts.groups))) membersOf[g]!.push(u);
  for (const u of users10) for (const g of pickDistinct(rand, opts.groups, Math.min(10, opts.groups))) membersOf[g]!.push(u);

  const now = Date.now();
  const offsets = new Array<number>(PARTITIONS).fill(0);
  const pending: PositionedEvent[][] = Array.from({ length: PARTITIONS }, () => []);
  let memberships = 0;
  const flush = async (p: number) => {
    const events = pending[p]!;
    if (events.length === 0) return;
    pending[p] = [];
    await readModel.apply(null, p, events, events[events.length - 1]!.offset);
  };

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
    // As the projector gets it: bytes off the topic, decoded and validated.
    const decoded = decodeEvent(Buffer.from(JSON.stringify(raw)));
    if (!decoded.ok) throw new Error(`bench workload event does not decode: ${decoded.reason}`);
    const p = g % PARTITIONS;
    pending[p]!.push({ offset: String(offsets[p]!++), event: decoded.event });
    if (pending[p]!.length === CHUNK) await flush(p);
  }
  for (let p = 0; p < PARTITIONS; p++) await flush(p);

  // The baseline's cached list for the big user: the whole list in list order, one JSON string.
  const ids = await readModel.readJoinedGroupIDs(bigUser);
  await redis.set(upstreamJoinedKey(opts.root, bigUser), JSON.stringify(ids.groupIDs));

  return { generation, groups: opts.groups, users10, users1k, bigUser, memberships, loadSeconds: (performance.now() - started) / 1000 };
}
