/**
 * Test helpers shared by the ReadModel's *.int.spec.ts (apply, read-page,
 * reference; left out of dist by tsconfig.json, like the specs): events
 * through the real decoder, and a ReadModel on a key root of its own that is
 * removed afterwards, so nothing flushes Redis.
 */
import { decodeEvent, type EventType, type GroupEvent } from '@imgroups/contracts';
import { uniqueId } from '@imgroups/testing';
import type { PositionedEvent } from './apply.js';
import { ReadModel } from './read-model.js';
import type { RedisClient } from './redis-client.js';
import { keysMatching, unlinkMatching } from './redis.test-helpers.js';

export const BASE_TIME = 1_700_000_000_000;

/** Builds valid events (through decodeEvent) with unique eventIDs. */
export function eventFactory() {
  const prefix = uniqueId('ev');
  let n = 0;
  return (type: EventType, groupID: string, data: unknown, eventID = `${prefix}-${n++}`): GroupEvent => {
    const raw = { eventID, type, version: 1, groupID, occurredAt: BASE_TIME + n, operatorUserID: 'op', data };
    const r = decodeEvent(JSON.stringify(raw));
    if (!r.ok) throw new Error(`test event invalid (${r.kind}): ${r.reason}`);
    return r.event;
  };
}

/** Events at consecutive offsets from `first`, as decimal strings. */
export function positioned(first: number, events: GroupEvent[]): PositionedEvent[] {
  return events.map((event, i) => ({ offset: String(first + i), event }));
}

/** Every key under `root` (on every master of a Cluster), sorted. */
export function keysUnder(redis: RedisClient, root: string): Promise<string[]> {
  return keysMatching(redis, `${root}:*`);
}

/** Runs `fn` with a fresh ReadModel on its own root, removed afterwards. */
export async function withModel<T>(
  redis: RedisClient,
  options: { dedupeWindow?: number; chunkSize?: number; activeTtlMs?: number },
  fn: (rm: ReadModel, gen: number, root: string) => Promise<T>,
): Promise<T> {
  const root = uniqueId('rmt');
  const rm = new ReadModel(redis, { root, dedupeWindow: options.dedupeWindow ?? 1000, chunkSize: options.chunkSize, activeTtlMs: options.activeTtlMs });
  try {
    return await fn(rm, await rm.generations.ensureActive(), root);
  } finally {
    await unlinkMatching(redis, `${root}:*`);
  }
}

export type Card = Record<string, unknown>;

/** A user's whole list, in one page. */
export async function readAll(rm: ReadModel, userID: string): Promise<{ total: number; groups: Card[] }> {
  const page = await rm.readPage(userID, 0, 1000);
  return { total: page.total, groups: JSON.parse(`[${page.groupsJson}]`) as Card[] };
}
