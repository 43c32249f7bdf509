import { z } from 'zod';
import { EventHeader, EventSchemas, GroupIn, MemberIn, type GroupEvent } from './events.js';

/**
 * Event stream v1.1 additions (CONTRACT.md §2): the optional envelope field
 * `seq` and the event type `group.snapshot`.
 *
 * Deliberately NOT part of the union `decodeEvent` accepts: the projection
 * does not apply `seq` or snapshots yet. Producers (the OpenIM bridge, the
 * import, the reconciliation) use these schemas to type and self-check what
 * they publish. Until the projection learns v1.1, a v1 event carrying `seq`
 * decodes as plain v1 (zod drops the unknown key) and a `group.snapshot` is
 * dead-lettered as an unknown type.
 */

/**
 * The source's version of the group at the change (OpenIM: the notification's
 * groupMemberVersion). Positive and a safe integer: a value JSON cannot carry
 * exactly is no ordering at all.
 */
export const Seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export type Seq = z.infer<typeof Seq>;

export const SnapshotStatus = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]);

/** All GroupInfo fields except memberCount, with status; groupID required (it is the whole group). */
export const SnapshotGroup = GroupIn.extend({ groupID: GroupIn.shape.groupID.unwrap(), status: SnapshotStatus });
export type SnapshotGroup = z.infer<typeof SnapshotGroup>;

/**
 * The whole state of one group at `seq`. A large group is sent in parts
 * (`part` 1..`parts`, consecutive on the partition), every part carrying the
 * same `seq` and `group`; the member list is the union of the parts' members.
 * A part may be empty only when the whole snapshot has no members (a group
 * dismissed with its members deleted).
 */
export const GroupSnapshotV1 = EventHeader.extend({
  type: z.literal('group.snapshot'),
  version: z.literal(1),
  seq: Seq.optional(),
  data: z
    .object({
      group: SnapshotGroup,
      members: z
        .array(MemberIn)
        .refine((ms) => new Set(ms.map((m) => m.userID)).size === ms.length, 'userIDs must be unique'),
      part: z.number().int().min(1).optional(),
      parts: z.number().int().min(1).optional(),
    })
    .refine((d) => (d.part === undefined) === (d.parts === undefined), 'part and parts come together')
    .refine((d) => d.part === undefined || d.parts === undefined || d.part <= d.parts, 'part must be at most parts'),
})
  .refine((e) => e.data.group.groupID === e.groupID, {
    message: 'data.group.groupID must equal groupID',
    path: ['data', 'group', 'groupID'],
  });
export type GroupSnapshot = z.infer<typeof GroupSnapshotV1>;

/** A v1 event with the optional v1.1 `seq`. */
export type SequencedEvent = GroupEvent & { seq?: number };

/** What a v1.1 producer may publish. */
export type EventV1_1 = SequencedEvent | GroupSnapshot;

export type CheckResult = { ok: true } | { ok: false; reason: string };

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * A producer's self-check before publishing: the event is valid v1.1 (its v1
 * schema, plus `seq` when present; or the snapshot schema). Never throws.
 */
export function checkEventV1_1(event: EventV1_1): CheckResult {
  if (event.type === 'group.snapshot') {
    const parsed = GroupSnapshotV1.safeParse(event);
    return parsed.success ? { ok: true } : { ok: false, reason: describe(parsed.error) };
  }
  if (event.seq !== undefined) {
    const seq = Seq.safeParse(event.seq);
    if (!seq.success) return { ok: false, reason: `seq: ${describe(seq.error)}` };
  }
  const header = EventHeader.safeParse(event);
  if (!header.success) return { ok: false, reason: describe(header.error) };
  const byVersion = (EventSchemas as Record<string, Record<number, z.ZodType>>)[event.type];
  const schema = byVersion?.[event.version];
  if (!schema) return { ok: false, reason: `unknown type/version ${event.type}@${event.version}` };
  const parsed = schema.safeParse(event);
  return parsed.success ? { ok: true } : { ok: false, reason: describe(parsed.error) };
}
