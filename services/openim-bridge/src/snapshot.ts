import { createHash } from 'node:crypto';
import { checkEvent, type GroupSnapshot, type MemberIn, type SnapshotGroup } from '@imgroups/contracts';

/**
 * One group's whole state as `group.snapshot` events (CONTRACT.md §2 v1.1):
 * one event, or parts 1..n when the members do not fit, every part with the
 * same `seq` and `group`. Parts hold at most `partMembers` members and are
 * split further until each serialised event fits `maxBytes` (the projector
 * dead-letters anything larger than its MAX_EVENT_BYTES). Event IDs are
 * `<eventIDBase>:<part>` (part 1 when whole). Used by the 1501 backfill, the
 * import and the reconciliation.
 */
export interface SnapshotInput {
  group: SnapshotGroup;
  members: MemberIn[];
  seq: number | undefined;
  eventIDBase: string;
  occurredAt: number;
  operatorUserID?: string;
  partMembers: number;
  maxBytes: number;
}

/** Members in a stable order (join time, then userID): equal states give equal events. */
export function orderMembers(members: MemberIn[]): MemberIn[] {
  return [...members].sort((a, b) => a.joinTime - b.joinTime || (a.userID < b.userID ? -1 : a.userID > b.userID ? 1 : 0));
}

/** A short digest of a group's state, for event IDs that differ exactly when the state does. */
export function stateDigest(group: SnapshotGroup, members: MemberIn[], seq: number | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify({ group, members: orderMembers(members), seq: seq ?? null }))
    .digest('hex')
    .slice(0, 20);
}

export function snapshotEvents(input: SnapshotInput): GroupSnapshot[] {
  const members = orderMembers(input.members);
  const make = (part: MemberIn[], index: number, parts: number): GroupSnapshot => ({
    eventID: `${input.eventIDBase}:${index + 1}`,
    type: 'group.snapshot',
    version: 1,
    groupID: input.group.groupID,
    occurredAt: input.occurredAt,
    operatorUserID: input.operatorUserID ?? '',
    ...(input.seq === undefined ? {} : { seq: input.seq }),
    data: { group: input.group, members: part, ...(parts > 1 ? { part: index + 1, parts } : {}) },
  });
  for (let size = Math.max(1, input.partMembers); ; size = Math.ceil(size / 2)) {
    const chunks: MemberIn[][] = [];
    for (let i = 0; i < members.length; i += size) chunks.push(members.slice(i, i + size));
    if (chunks.length === 0) chunks.push([]);
    const events = chunks.map((c, i) => make(c, i, chunks.length));
    const fits = events.every((e) => Buffer.byteLength(JSON.stringify(e)) <= input.maxBytes);
    if (fits || size === 1) {
      if (!fits) throw new Error(`group ${input.group.groupID}: a snapshot with one member exceeds ${input.maxBytes} bytes`);
      for (const e of events) {
        const check = checkEvent(e);
        if (!check.ok) throw new Error(`group ${input.group.groupID}: snapshot would be invalid: ${check.reason}`);
      }
      return events;
    }
  }
}
