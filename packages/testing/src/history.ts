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

export interface VersionedHistoryOptions {
  seed: number;
  events: number;
  groups: number;
  users: number;
  /** ID prefix, so histories of different tests never share IDs. */
  prefix?: string;
  /** Share of re-sent events: the same event again, from anywhere earlier in its group's history (default 0.05). */
  resendRate?: number;
  /** Share of snapshots of a group's state, published some events later (default 0.06). */
  snapshotRate?: number;
  /** A group's notifications are shuffled within windows of this many (default 4): OpenIM's queue reorders them. */
  reorderWindow?: number;
  /** Members per snapshot part (default 3): larger snapshots go in parts. */
  partSize?: number;
}

interface SourceGroup {
  version: number;
  owner: string;
  createTime: number;
  groupName: string;
  notification: string;
  status: 0 | 1 | 3;
  members: Map<string, { roleLevel: number; joinTime: number }>;
  dismissed: boolean;
  /** Events emitted for the group so far, in source order. */
  history: RawGroupEvent[];
}

/**
 * Seeded random histories of event stream v1.1, shaped like the OpenIM
 * bridge's output: every change bumps the group's version and carries it as
 * `seq` (sometimes skipping one); one change may send several events with the
 * same seq (a rename as two full-info events, a batch of role changes); the
 * dismissal has none (1511 carries no version). Then as OpenIM's queue and
 * its producers deliver them: a group's events shuffled within small
 * windows (creation stays first), re-sent events of any age, and snapshots
 * of a group's state at some version published later, racing the live
 * events, in consecutive parts when large. Same seed, same history.
 */
export function generateVersionedHistory(opts: VersionedHistoryOptions): RawGroupEvent[] {
  const rand = prng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const prefix = opts.prefix ?? '';
  const userIDs = Array.from({ length: opts.users }, (_, i) => `${prefix}u${i}`);
  const groupIDs = Array.from({ length: opts.groups }, (_, i) => `${prefix}g${i}`);
  const groups = new Map<string, SourceGroup>();
  /** Source order: one entry per change (its events together), or a delayed snapshot. */
  const changes: { groupID: string; events: RawGroupEvent[]; due?: number }[] = [];
  let clock = 1_700_000_000_000;
  let n = 0;
  let count = 0;

  const event = (groupID: string, type: string, data: Record<string, unknown>, seq?: number): RawGroupEvent => ({
    eventID: `${prefix}${opts.seed}-v${++n}-${randomUUID().slice(0, 8)}`,
    type,
    version: 1,
    groupID,
    occurredAt: clock,
    operatorUserID: 'imAdmin',
    ...(seq === undefined ? {} : { seq }),
    data,
  });
  const change = (groupID: string, g: SourceGroup, events: RawGroupEvent[]) => {
    g.history.push(...events);
    changes.push({ groupID, events });
    count += events.length;
  };
  const bump = (g: SourceGroup) => {
    g.version += rand() < 0.15 ? 2 : 1; // some increments send nothing
    clock += 1 + Math.floor(rand() * 1000);
    return g.version;
  };
  const snapshotOf = (groupID: string, g: SourceGroup): RawGroupEvent[] => {
    const members = [...g.members].map(([userID, m]) => ({ userID, roleLevel: m.roleLevel, joinTime: m.joinTime, joinSource: 2 }));
    const group = {
      groupID,
      groupName: g.groupName,
      notification: g.notification,
      ownerUserID: g.owner,
      creatorUserID: g.owner,
      createTime: g.createTime,
      status: g.status,
    };
    const size = opts.partSize ?? 3;
    const parts = Math.max(1, Math.ceil(members.length / size));
    return Array.from({ length: parts }, (_, i) =>
      event(groupID, 'group.snapshot', {
        group,
        members: members.slice(i * size, (i + 1) * size),
        ...(parts > 1 ? { part: i + 1, parts } : {}),
      }, g.version),
    );
  };

  while (count < opts.events) {
    const uncreated = groupIDs.filter((id) => !groups.has(id));
    if (uncreated.length > 0 && (groups.size === 0 || rand() < uncreated.length / groupIDs.length)) {
      const groupID = pick(uncreated);
      const owner = pick(userIDs);
      clock += 1;
      const g: SourceGroup = {
        version: 1, owner, createTime: clock, groupName: `name ${n}`, notification: '', status: 0,
        members: new Map([[owner, { roleLevel: 100, joinTime: clock }]]), dismissed: false, history: [],
      };
      for (const u of userIDs) if (u !== owner && rand() < 3 / opts.users) g.members.set(u, { roleLevel: 20, joinTime: clock });
      groups.set(groupID, g);
      const members = [...g.members].map(([userID, m]) => ({ userID, roleLevel: m.roleLevel, joinTime: m.joinTime }));
      change(groupID, g, [event(groupID, 'group.created', {
        group: { groupName: g.groupName, ownerUserID: owner, creatorUserID: owner, createTime: g.createTime }, members,
      }, 1)]);
      continue;
    }
    const live = [...groups.entries()].filter(([, x]) => !x.dismissed);
    if (live.length === 0) break;
    const [groupID, g] = pick(live);
    const r = rand();
    if (r < (opts.resendRate ?? 0.05)) {
      // A re-send of any age: the same event (same eventID, same seq) again.
      change(groupID, g, [pick(g.history)]);
      continue;
    }
    if (r < (opts.resendRate ?? 0.05) + (opts.snapshotRate ?? 0.06)) {
      // The group as it is now, published a few changes later.
      changes.push({ groupID, events: snapshotOf(groupID, g), due: changes.length + 1 + Math.floor(rand() * 6) });
      count += 1;
      continue;
    }
    const kind = rand();
    const ordinary = [...g.members.keys()].filter((u) => u !== g.owner);
    const outsiders = userIDs.filter((u) => !g.members.has(u));
    if (kind < 0.01) {
      g.dismissed = true;
      g.members.clear();
      clock += 1;
      change(groupID, g, [event(groupID, 'group.dismissed', {})]);
    } else if (kind < 0.35) {
      if (!outsiders.length) continue;
      const joining = outsiders.filter(() => rand() < 0.3).slice(0, 2);
      if (!joining.length) joining.push(pick(outsiders));
      const seq = bump(g);
      const rows = joining.map((u) => ({ userID: u, roleLevel: pick([20, 20, 60] as const), joinTime: clock, joinSource: 2 }));
      for (const m of rows) g.members.set(m.userID, { roleLevel: m.roleLevel, joinTime: m.joinTime });
      change(groupID, g, [event(groupID, 'member.joined', { members: rows }, seq)]);
    } else if (kind < 0.6) {
      if (!ordinary.length) continue;
      const leaving = ordinary.filter(() => rand() < 0.3).slice(0, 2);
      if (!leaving.length) leaving.push(pick(ordinary));
      const seq = bump(g);
      for (const u of leaving) g.members.delete(u);
      change(groupID, g, [event(groupID, 'member.left', { userIDs: leaving, reason: rand() < 0.5 ? 'quit' : 'kicked' }, seq)]);
    } else if (kind < 0.72) {
      // One SetGroupInfo: every notification it sends carries the whole info and one version.
      const seq = bump(g);
      g.groupName = rand() < 0.6 ? `name ${n}` : g.groupName;
      g.notification = rand() < 0.5 ? `note ${n}` : g.notification;
      const data = { groupName: g.groupName, notification: g.notification };
      change(groupID, g, Array.from({ length: 1 + Math.floor(rand() * 3) }, () => event(groupID, 'group.info_updated', data, seq)));
    } else if (kind < 0.8) {
      const seq = bump(g);
      g.status = pick([0, 1, 3] as const);
      change(groupID, g, [event(groupID, 'group.status_changed', { status: g.status }, seq)]);
    } else if (kind < 0.92) {
      // A batch of role changes: one version, one event per member.
      if (!ordinary.length) continue;
      const seq = bump(g);
      const changed = ordinary.filter(() => rand() < 0.4);
      if (!changed.length) changed.push(pick(ordinary));
      const events = changed.map((u) => {
        const roleLevel = g.members.get(u)!.roleLevel === 60 ? 20 : 60;
        g.members.get(u)!.roleLevel = roleLevel;
        return event(groupID, 'member.role_changed', { userID: u, roleLevel }, seq);
      });
      change(groupID, g, events);
    } else {
      if (!ordinary.length) continue;
      const seq = bump(g);
      const next = pick(ordinary);
      // The old owner takes the role the new owner had, as upstream does.
      g.members.get(g.owner)!.roleLevel = g.members.get(next)!.roleLevel;
      g.members.get(next)!.roleLevel = 100;
      change(groupID, g, [event(groupID, 'group.owner_transferred', { oldOwnerUserID: g.owner, newOwnerUserID: next }, seq)]);
      g.owner = next;
    }
  }

  // Delayed snapshots take their place; then each group's events are
  // shuffled within small windows, its creation first, snapshot parts kept
  // consecutive and in order.
  const ordered: { groupID: string; events: RawGroupEvent[] }[] = [];
  const delayed = changes.filter((c) => c.due !== undefined);
  changes.forEach((c, i) => {
    if (c.due === undefined) ordered.push(c);
    for (const d of delayed) if (d.due === i) ordered.push(d);
  });
  for (const d of delayed) if (d.due! >= changes.length) ordered.push(d);
  const w = opts.reorderWindow ?? 4;
  const units = ordered.flatMap((c) => (c.events[0]!.type === 'group.snapshot' ? [c.events] : c.events.map((e) => [e])));
  for (let i = 0; i < units.length; i++) {
    const j = i + 1 + Math.floor(rand() * w);
    const a = units[i]!;
    const b = units[j];
    if (!b || a[0]!.groupID !== b[0]!.groupID || a[0]!.type === 'group.created' || rand() < 0.5) continue;
    units[i] = b;
    units[j] = a;
  }
  return units.flat();
}
