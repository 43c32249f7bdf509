import { randomUUID } from 'node:crypto';
import type { RawGroupEvent } from './events.js';

/**
 * Seeded random event histories for property, crash and rebalance tests: a
 * stream of raw v1 events (as producers publish them) over `groups` groups and
 * `users` users, mostly meaningful (joins of non-members, leaves of members,
 * rejoins with a new join time, renames, role changes, transfers, rare
 * dismissals) with the odd cases mixed in: re-sent events (same eventID, later
 * in the stream), events for groups never created, leaves of non-members.
 * Same seed, same history.
 */

export interface HistoryOptions {
  seed: number;
  events: number;
  groups: number;
  users: number;
  /** Share of re-sent events (default 0.03). */
  resendRate?: number;
  /** Share of events aimed at a group that never exists, or a non-member (default 0.01). */
  oddRate?: number;
  /** Share of dismissals among group events (default 0.003). */
  dismissRate?: number;
  /** ID prefix, so histories of different tests never share IDs. */
  prefix?: string;
}

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateHistory(opts: HistoryOptions): RawGroupEvent[] {
  const rand = prng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const prefix = opts.prefix ?? '';
  const userIDs = Array.from({ length: opts.users }, (_, i) => `${prefix}u${i}`);
  const groupIDs = Array.from({ length: opts.groups }, (_, i) => `${prefix}g${i}`);
  const state = new Map<string, { owner: string; members: Set<string>; dismissed: boolean; recent: RawGroupEvent[] }>();
  const out: RawGroupEvent[] = [];
  let clock = 1_700_000_000_000;
  let seq = 0;

  const emit = (type: string, groupID: string, data: Record<string, unknown>) => {
    clock += 1 + Math.floor(rand() * 1000);
    const e: RawGroupEvent = {
      // Deterministic from the seed, unique across seeds and runs of a test.
      eventID: `${prefix}${opts.seed}-${++seq}-${randomUUID().slice(0, 8)}`,
      type,
      version: 1,
      groupID,
      occurredAt: clock,
      operatorUserID: 'imAdmin',
      data,
    };
    out.push(e);
    const g = state.get(groupID);
    if (g) {
      g.recent.push(e);
      if (g.recent.length > 20) g.recent.shift();
    }
    return e;
  };
  const member = (userID: string, roleLevel = 20) => ({ userID, roleLevel, joinTime: clock, joinSource: 2 });
  const nonMembers = (g: { members: Set<string> }) => userIDs.filter((u) => !g.members.has(u));

  while (out.length < opts.events) {
    const r = rand();
    const uncreated = groupIDs.filter((id) => !state.has(id));
    if (uncreated.length > 0 && (state.size === 0 || rand() < uncreated.length / groupIDs.length)) {
      const groupID = pick(uncreated);
      const owner = pick(userIDs);
      const others = userIDs.filter((u) => u !== owner && rand() < 3 / opts.users);
      state.set(groupID, { owner, members: new Set([owner, ...others]), dismissed: false, recent: [] });
      clock += 1;
      emit('group.created', groupID, {
        group: { groupName: `name ${seq}`, ownerUserID: owner, creatorUserID: owner, createTime: clock },
        members: [member(owner, 100), ...others.map((u) => member(u))],
      });
      continue;
    }
    const live = [...state.entries()].filter(([, g]) => !g.dismissed);
    if (live.length === 0) {
      emit('member.joined', `${prefix}ghost`, { members: [member(pick(userIDs))] });
      continue;
    }
    const [groupID, g] = pick(live);
    if (r < (opts.resendRate ?? 0.03) && g.recent.length > 0) {
      // A producer's retry: the same event again, a little later in the stream.
      const again = pick(g.recent);
      out.push(again);
      continue;
    }
    if (r < (opts.resendRate ?? 0.03) + (opts.oddRate ?? 0.01)) {
      if (rand() < 0.5) emit('member.left', `${prefix}ghost${Math.floor(rand() * 3)}`, { userIDs: [pick(userIDs)], reason: 'quit' });
      else {
        const outsider = nonMembers(g);
        if (outsider.length) emit('member.left', groupID, { userIDs: [pick(outsider)], reason: 'kicked' });
      }
      continue;
    }
    const kind = rand();
    const ordinary = [...g.members].filter((u) => u !== g.owner);
    if (kind < (opts.dismissRate ?? 0.003)) {
      g.dismissed = true;
      g.members.clear();
      emit('group.dismissed', groupID, {});
    } else if (kind < 0.4) {
      const candidates = nonMembers(g);
      if (!candidates.length) continue;
      const joining = candidates.filter(() => rand() < 0.3).slice(0, 3);
      if (!joining.length) joining.push(pick(candidates));
      clock += 1;
      for (const u of joining) g.members.add(u);
      emit('member.joined', groupID, { members: joining.map((u) => member(u)) });
    } else if (kind < 0.7) {
      if (!ordinary.length) continue;
      const leaving = pick(ordinary);
      g.members.delete(leaving);
      emit('member.left', groupID, { userIDs: [leaving], reason: rand() < 0.5 ? 'quit' : 'kicked' });
    } else if (kind < 0.82) {
      emit('group.info_updated', groupID, rand() < 0.5 ? { groupName: `name ${seq}` } : { notification: `note ${seq}`, notificationUpdateTime: clock });
    } else if (kind < 0.88) {
      emit('group.status_changed', groupID, { status: pick([0, 1, 3] as const) });
    } else if (kind < 0.95) {
      if (!ordinary.length) continue;
      emit('member.role_changed', groupID, { userID: pick(ordinary), roleLevel: pick([20, 60] as const) });
    } else {
      if (!ordinary.length) continue;
      const next = pick(ordinary);
      emit('group.owner_transferred', groupID, { oldOwnerUserID: g.owner, newOwnerUserID: next });
      g.owner = next;
    }
  }
  return out.slice(0, opts.events);
}
