/**
 * Test helpers shared by the ReadModel's *.int.spec.ts (apply, read-page,
 * reference; left out of dist by tsconfig.json, like the specs): events
 * through the real decoder, and a ReadModel on a key root of its own that is
 * removed afterwards, so nothing flushes Redis.
 */
import { decodeEvent, type EventType, type GroupEvent } from '@imgroups/contracts';
import { uniqueId } from '@imgroups/testing';
import type { Redis } from 'ioredis';
import type { PositionedEvent } from './apply.js';
import { ReadModel } from './read-model.js';

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

/** Every key under `root`, sorted. */
export async function keysUnder(redis: Redis, root: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${root}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return [...new Set(keys)].sort();
}

async function dropRoot(redis: Redis, root: string) {
  const keys = await keysUnder(redis, root);
  for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000));
}

/** Runs `fn` with a fresh ReadModel on its own root, removed afterwards. */
export async function withModel<T>(
  redis: Redis,
  options: { dedupeWindow?: number; chunkSize?: number; activeTtlMs?: number },
  fn: (rm: ReadModel, gen: number, root: string) => Promise<T>,
): Promise<T> {
  const root = uniqueId('rmt');
  const rm = new ReadModel(redis, { root, dedupeWindow: options.dedupeWindow ?? 1000, chunkSize: options.chunkSize, activeTtlMs: options.activeTtlMs });
  try {
    return await fn(rm, await rm.generations.ensureActive(), root);
  } finally {
    await dropRoot(redis, root);
  }
}

export type Card = Record<string, unknown>;

/** A user's whole list, in one page. */
export async function readAll(rm: ReadModel, userID: string): Promise<{ total: number; groups: Card[] }> {
  const page = await rm.readPage(userID, 0, 1000);
  return { total: page.total, groups: JSON.parse(`[${page.groupsJson}]`) as Card[] };
}
