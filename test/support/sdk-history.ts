import { INFO_PATCH_FIELDS } from '@imgroups/contracts';
import type { ReferenceModel } from '@imgroups/read-model/test-helpers';
import { ev, type RawGroupEvent } from '@imgroups/testing';
import fc from 'fast-check';

/**
 * Random histories for the SDK-flow property test: steps that are events
 * (creations, joins, leaves and kicks, info changes, status changes, role
 * changes, owner transfers, dismissals, bulk joins of many users, a user
 * joining or leaving every group at once, the odd event that changes
 * nothing, redeliveries of an applied event at its own or a later offset),
 * interleaved with "client N syncs" and "rebuild". Three mixes: syncs
 * between almost every change, long stretches without one (member logs
 * overflow), and users joining and leaving many groups (join logs overflow).
 *
 * A step names its targets by index; they are resolved against the
 * projection's state when the step runs (`live[group % live.length]`), so
 * every step stays meaningful however fast-check shrinks the list around it.
 * A step with nothing to act on (a join when everyone is a member) is skipped.
 */

/** Users who sync (the first CLIENTS of the pool) and the pool the events draw members from. */
export const CLIENTS = 3;
export const POOL = 6;
/** At most this many groups per history: enough for a user's join log to overflow a small SYNC_LOG_MAX. */
export const MAX_GROUPS = 24;

export type Step =
  | { kind: 'create'; owner: number; others: number[]; count: number }
  | { kind: 'join'; group: number; users: number[] }
  | { kind: 'leave'; group: number; user: number; count: number; kicked: boolean }
  | { kind: 'info'; group: number; field: number; value: number }
  | { kind: 'status'; group: number; status: 0 | 1 | 3 }
  | { kind: 'role'; group: number; user: number; role: 20 | 60 }
  | { kind: 'transfer'; group: number; user: number }
  | { kind: 'dismiss'; group: number }
  | { kind: 'bulk'; group: number; size: number }
  | { kind: 'spree'; user: number; leave: boolean }
  | { kind: 'odd'; group: number; user: number; variant: number }
  | { kind: 'redeliver'; back: number; sameOffset: boolean }
  | { kind: 'sync'; client: number }
  | { kind: 'rebuild' };

const ix = fc.nat({ max: 63 });
const pool = fc.uniqueArray(fc.nat({ max: POOL - 1 }), { minLength: 1, maxLength: 3 });

const ARBS = {
  create: fc.record({
    kind: fc.constant('create' as const),
    owner: ix,
    others: fc.uniqueArray(fc.nat({ max: POOL - 1 }), { maxLength: 4 }),
    count: fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.integer({ min: 2, max: 6 }), weight: 1 }),
  }),
  join: fc.record({ kind: fc.constant('join' as const), group: ix, users: pool }),
  leave: fc.record({
    kind: fc.constant('leave' as const),
    group: ix,
    user: ix,
    count: fc.oneof({ arbitrary: fc.constant(1), weight: 4 }, { arbitrary: fc.integer({ min: 2, max: 60 }), weight: 1 }),
    kicked: fc.boolean(),
  }),
  info: fc.record({ kind: fc.constant('info' as const), group: ix, field: ix, value: fc.nat({ max: 2 }) }),
  status: fc.record({ kind: fc.constant('status' as const), group: ix, status: fc.constantFrom(0 as const, 1 as const, 3 as const) }),
  role: fc.record({ kind: fc.constant('role' as const), group: ix, user: ix, role: fc.constantFrom(20 as const, 60 as const) }),
  transfer: fc.record({ kind: fc.constant('transfer' as const), group: ix, user: ix }),
  dismiss: fc.record({ kind: fc.constant('dismiss' as const), group: ix }),
  bulk: fc.record({
    kind: fc.constant('bulk' as const),
    group: ix,
    // Around a small SYNC_LOG_MAX (the boundary of overflow), or large.
    size: fc.oneof({ arbitrary: fc.integer({ min: 2, max: 25 }), weight: 2 }, { arbitrary: fc.integer({ min: 26, max: 190 }), weight: 1 }),
  }),
  spree: fc.record({ kind: fc.constant('spree' as const), user: ix, leave: fc.boolean() }),
  odd: fc.record({ kind: fc.constant('odd' as const), group: ix, user: ix, variant: fc.nat({ max: 4 }) }),
  redeliver: fc.record({ kind: fc.constant('redeliver' as const), back: ix, sameOffset: fc.boolean() }),
  sync: fc.record({ kind: fc.constant('sync' as const), client: fc.nat({ max: CLIENTS - 1 }) }),
  rebuild: fc.record({ kind: fc.constant('rebuild' as const) }),
} satisfies Record<Step['kind'], fc.Arbitrary<Step>>;

type Weights = Record<Step['kind'], number>;
/** Syncs between almost every change: incremental answers of a few entries. */
const CHATTY: Weights = {
  sync: 24, join: 16, leave: 12, create: 6, info: 8, role: 6, status: 4, transfer: 4, redeliver: 8, odd: 2, dismiss: 2, bulk: 2, spree: 1, rebuild: 1,
};
/** Long stretches without a sync: logs overflow, many groups change at once. */
const QUIET: Weights = {
  sync: 4, join: 16, leave: 12, create: 12, info: 8, role: 8, status: 2, transfer: 4, redeliver: 6, odd: 2, dismiss: 2, bulk: 4, spree: 3, rebuild: 1,
};

/** Users joining and leaving many groups between syncs: join logs overflow. */
const CHURN: Weights = {
  sync: 6, join: 8, leave: 8, create: 10, info: 2, role: 2, status: 1, transfer: 1, redeliver: 3, odd: 1, dismiss: 3, bulk: 1, spree: 10, rebuild: 1,
};

/** A few groups first, then the steps. */
const stepsOf = (w: Weights, maxLength: number) =>
  fc
    .tuple(
      fc.array(ARBS.create, { minLength: 1, maxLength: 4 }),
      fc.array(fc.oneof(...(Object.keys(ARBS) as Step['kind'][]).map((k) => ({ arbitrary: ARBS[k], weight: w[k] }))), {
        minLength: 5,
        maxLength,
        size: 'max',
      }),
    )
    .map(([groups, steps]): Step[] => [...groups, ...steps]);

/** A history: its steps, and the SYNC_LOG_MAX it runs with (10, the least the config allows, up to the default 200). */
export const historyArb = fc.record({
  logMax: fc.constantFrom(10, 10, 12, 15, 20, 200),
  /** Events applied one per call, or in batches (all between two syncs) of apply calls of `chunk` events. */
  delivery: fc.record({ batch: fc.boolean(), chunk: fc.integer({ min: 1, max: 6 }) }),
  steps: fc.oneof(stepsOf(CHATTY, 100), stepsOf(QUIET, 120), stepsOf(CHURN, 100)),
});

/** The editable fields but the time (a Millis): those a rename-like step changes. */
const INFO_FIELDS = INFO_PATCH_FIELDS.filter((f) => f !== 'notificationUpdateTime');

/** Turns event steps into raw events against the projection's current state (the reference model). */
export class EventMaker {
  private clock = 1_700_000_000_000;
  private groups = 0;
  private bulkUsers = 0;

  constructor(readonly prefix: string) {}

  user(i: number): string {
    return `${this.prefix}u${i % POOL}`;
  }

  get clients(): string[] {
    return Array.from({ length: CLIENTS }, (_, i) => this.user(i));
  }

  /** The events of one step, or null when the step has nothing to act on. */
  events(step: Step, model: ReferenceModel): RawGroupEvent[] | null {
    this.clock += 1000;
    const at = this.clock;
    if (step.kind === 'create') {
      const owner = this.user(step.owner);
      const others = step.others.map((i) => this.user(i)).filter((u) => u !== owner);
      const count = Math.min(step.count, MAX_GROUPS - this.groups);
      if (count <= 0) return null;
      return Array.from({ length: count }, () =>
        ev.created(`${this.prefix}g${this.groups++}`, { userID: owner, joinTime: at }, others.map((userID) => ({ userID, joinTime: at })), {
          createTime: at,
        }),
      );
    }
    if (step.kind === 'sync' || step.kind === 'rebuild' || step.kind === 'redeliver') return null;
    const live = [...model.groups].filter(([, g]) => !g.dismissed).map(([id]) => id).sort();
    if (step.kind === 'odd') return [this.odd(step, model, live, at)];
    if (step.kind === 'spree') return this.spree(this.user(step.user), step.leave, model, live, at);
    if (live.length === 0) return null;
    const groupID = live[step.group % live.length]!;
    const g = model.groups.get(groupID)!;
    const owner = String(g.fields.ownerUserID);
    const ordinary = [...g.members.keys()].filter((u) => u !== owner).sort();
    const pick = (i: number) => (ordinary.length ? ordinary[i % ordinary.length]! : null);
    switch (step.kind) {
      case 'join': {
        const joining = [...new Set(step.users.map((i) => this.user(i)))].filter((u) => !g.members.has(u));
        return joining.length ? [ev.joined(groupID, joining.map((userID) => ({ userID, joinTime: at })))] : null;
      }
      case 'bulk': {
        const joining = Array.from({ length: step.size }, () => ({ userID: `${this.prefix}b${this.bulkUsers++}`, joinTime: at }));
        return [ev.joined(groupID, joining)];
      }
      case 'leave': {
        if (!ordinary.length) return null;
        const from = step.user % ordinary.length;
        const leaving = [...ordinary.slice(from), ...ordinary.slice(0, from)].slice(0, step.count);
        return [ev.left(groupID, leaving, step.kicked ? 'kicked' : 'quit')];
      }
      case 'info': {
        const field = INFO_FIELDS[step.field % INFO_FIELDS.length]!;
        const v = step.value;
        if (field === 'notification') return [ev.infoUpdated(groupID, { notification: `note ${v}`, notificationUpdateTime: 1000 * v })];
        if (field === 'needVerification') return [ev.infoUpdated(groupID, { needVerification: v })];
        if (field === 'lookMemberInfo' || field === 'applyMemberFriend') return [ev.infoUpdated(groupID, { [field]: v % 2 })];
        return [ev.infoUpdated(groupID, { [field]: `${field} ${v}` })];
      }
      case 'status':
        return [ev.statusChanged(groupID, step.status)];
      case 'role': {
        const u = pick(step.user);
        return u ? [ev.roleChanged(groupID, u, step.role)] : null;
      }
      case 'transfer': {
        const u = pick(step.user);
        return u ? [ev.ownerTransferred(groupID, owner, u)] : null;
      }
      case 'dismiss':
        return [ev.dismissed(groupID)];
    }
  }

  /** `userID` joins every live group it is not in, or leaves every one it is in (but owns). */
  private spree(userID: string, leave: boolean, model: ReferenceModel, live: string[], at: number): RawGroupEvent[] | null {
    const events = live.flatMap((groupID) => {
      const g = model.groups.get(groupID)!;
      if (!leave) return g.members.has(userID) ? [] : [ev.joined(groupID, [{ userID, joinTime: at }])];
      return g.members.has(userID) && g.fields.ownerUserID !== userID ? [ev.left(groupID, [userID])] : [];
    });
    return events.length ? events : null;
  }

  /** An event the projection records and ignores: it changes no log. */
  private odd(step: Extract<Step, { kind: 'odd' }>, model: ReferenceModel, live: string[], at: number): RawGroupEvent {
    const groupID = live.length ? live[step.group % live.length]! : `${this.prefix}ghost`;
    const members = model.groups.get(groupID)?.members ?? new Map();
    const outsider = [...Array(POOL).keys()].map((i) => this.user(i + step.user)).find((u) => !members.has(u)) ?? `${this.prefix}nobody`;
    switch (step.variant) {
      case 0:
        return ev.joined(`${this.prefix}ghost`, [{ userID: this.user(step.user), joinTime: at }]);
      case 1:
        return ev.left(groupID, [outsider], 'kicked');
      case 2:
        return ev.roleChanged(groupID, outsider, 60);
      case 3:
        return ev.ownerTransferred(groupID, String(model.groups.get(groupID)?.fields.ownerUserID ?? outsider), outsider);
      default:
        return ev.created(groupID, { userID: outsider, joinTime: at });
    }
  }
}
