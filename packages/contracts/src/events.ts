import { z } from 'zod';
import { Id, Millis } from './ids.js';

/**
 * Event stream v1 and its v1.1 additions (CONTRACT.md §2): the optional
 * envelope field `seq` and the event type `group.snapshot`. Message key =
 * groupID; value = UTF-8 JSON.
 */

export const RoleLevel = { Owner: 100, Admin: 60, Ordinary: 20 } as const;
export const JoinSource = { Admin: 1, Invitation: 2, Search: 3, QRCode: 4 } as const;
export const GroupStatus = { Normal: 0, Banned: 1, Dismissed: 2, Muted: 3 } as const;

const roleLevel = z.union([z.literal(100), z.literal(60), z.literal(20)]);
const shortText = z.string().max(1024);
const longText = z.string().max(8192);

export const MemberIn = z.object({
  userID: Id,
  roleLevel,
  joinTime: Millis,
  joinSource: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).optional(),
  inviterUserID: z.string().max(64).optional(),
});
export type MemberIn = z.infer<typeof MemberIn>;

const members = z
  .array(MemberIn)
  .min(1)
  .refine((ms) => new Set(ms.map((m) => m.userID)).size === ms.length, 'userIDs must be unique');

/** Every group field except memberCount and status (those are the projection's). */
export const GroupIn = z.object({
  groupID: Id.optional(),
  groupName: shortText.default(''),
  notification: longText.default(''),
  introduction: longText.default(''),
  faceURL: shortText.default(''),
  ownerUserID: Id,
  createTime: Millis,
  ex: longText.default(''),
  creatorUserID: z.string().max(64).default(''),
  groupType: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(2),
  needVerification: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(0),
  lookMemberInfo: z.union([z.literal(0), z.literal(1)]).default(0),
  applyMemberFriend: z.union([z.literal(0), z.literal(1)]).default(0),
  notificationUpdateTime: Millis.default(0),
  notificationUserID: z.string().max(64).default(''),
});
export type GroupIn = z.infer<typeof GroupIn>;

const InfoPatchFields = z.object({
  groupName: shortText,
  notification: longText,
  introduction: longText,
  faceURL: shortText,
  ex: longText,
  needVerification: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  lookMemberInfo: z.union([z.literal(0), z.literal(1)]),
  applyMemberFriend: z.union([z.literal(0), z.literal(1)]),
  notificationUpdateTime: Millis,
  notificationUserID: z.string().max(64),
});
/** The group's own editable fields: those `group.info_updated` may carry. */
export const INFO_PATCH_FIELDS = Object.keys(InfoPatchFields.shape) as (keyof z.infer<typeof InfoPatchFields>)[];
/** The fields `group.info_updated` may carry; at least one. */
export const InfoPatch = InfoPatchFields.partial().refine((p) => Object.keys(p).length > 0, 'must change at least one field');
export type InfoPatch = z.infer<typeof InfoPatch>;

/**
 * v1.1: the source's version of the group at the change (OpenIM: the
 * notification's groupMemberVersion). Positive and a safe integer: a value
 * JSON cannot carry exactly is no ordering at all. It orders changes per
 * entity (the group's info, each membership), not per group.
 */
export const Seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const EventHeader = z.object({
  eventID: z.string().min(1).max(128),
  type: z.string(),
  version: z.number().int(),
  groupID: Id,
  occurredAt: Millis,
  operatorUserID: z.string().max(64).default(''),
  seq: Seq.optional(),
  data: z.unknown(),
});

function v1<T extends string, D extends z.ZodType>(type: T, data: D) {
  return EventHeader.extend({ type: z.literal(type), version: z.literal(1), data });
}

export const GroupCreatedV1 = v1(
  'group.created',
  z.object({ group: GroupIn, members }),
).refine((e) => e.data.group.groupID === undefined || e.data.group.groupID === e.groupID, {
  message: 'data.group.groupID must equal groupID',
  path: ['data', 'group', 'groupID'],
}).refine((e) => e.data.members.some((m) => m.userID === e.data.group.ownerUserID), {
  message: 'members must include the owner',
  path: ['data', 'members'],
});
export const GroupInfoUpdatedV1 = v1('group.info_updated', InfoPatch);
export const GroupStatusChangedV1 = v1(
  'group.status_changed',
  z.object({ status: z.union([z.literal(0), z.literal(1), z.literal(3)]) }),
);
export const GroupOwnerTransferredV1 = v1(
  'group.owner_transferred',
  z.object({ oldOwnerUserID: Id, newOwnerUserID: Id }),
);
export const GroupDismissedV1 = v1('group.dismissed', z.object({}));
export const MemberJoinedV1 = v1('member.joined', z.object({ members }));
export const MemberLeftV1 = v1(
  'member.left',
  z.object({ userIDs: z.array(Id).min(1), reason: z.enum(['quit', 'kicked']) }),
);
export const MemberRoleChangedV1 = v1(
  'member.role_changed',
  z.object({ userID: Id, roleLevel: z.union([z.literal(60), z.literal(20)]) }),
);

/** All GroupInfo fields except memberCount, with status; groupID required (it is the whole group). */
export const SnapshotGroup = GroupIn.extend({
  groupID: Id,
  status: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
});
export type SnapshotGroup = z.infer<typeof SnapshotGroup>;

/**
 * v1.1: the whole state of one group at `seq`. A large group is sent in parts
 * (`part` 1..`parts`, consecutive on the partition), every part carrying the
 * same `seq` and `group`; the member list is the union of the parts' members.
 * A snapshot may list no member only when its group is dismissed (status 2).
 */
export const GroupSnapshotV1 = v1(
  'group.snapshot',
  z
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
).refine((e) => e.data.group.groupID === e.groupID, {
  message: 'data.group.groupID must equal groupID',
  path: ['data', 'group', 'groupID'],
});

/** Schemas by `type` then `version`: the decoder tells "unknown type" from "unknown version". */
export const EventSchemas = {
  'group.created': { 1: GroupCreatedV1 },
  'group.info_updated': { 1: GroupInfoUpdatedV1 },
  'group.status_changed': { 1: GroupStatusChangedV1 },
  'group.owner_transferred': { 1: GroupOwnerTransferredV1 },
  'group.dismissed': { 1: GroupDismissedV1 },
  'member.joined': { 1: MemberJoinedV1 },
  'member.left': { 1: MemberLeftV1 },
  'member.role_changed': { 1: MemberRoleChangedV1 },
  'group.snapshot': { 1: GroupSnapshotV1 },
} as const;
export type EventType = keyof typeof EventSchemas;
export const EVENT_TYPES = Object.keys(EventSchemas) as EventType[];

export type GroupCreated = z.infer<typeof GroupCreatedV1>;
export type GroupInfoUpdated = z.infer<typeof GroupInfoUpdatedV1>;
export type GroupStatusChanged = z.infer<typeof GroupStatusChangedV1>;
export type GroupOwnerTransferred = z.infer<typeof GroupOwnerTransferredV1>;
export type GroupDismissed = z.infer<typeof GroupDismissedV1>;
export type MemberJoined = z.infer<typeof MemberJoinedV1>;
export type MemberLeft = z.infer<typeof MemberLeftV1>;
export type MemberRoleChanged = z.infer<typeof MemberRoleChangedV1>;
export type GroupSnapshot = z.infer<typeof GroupSnapshotV1>;

/** The discriminated union on `type` (+ `version`, a literal in every member). */
export type GroupEvent =
  | GroupCreated
  | GroupInfoUpdated
  | GroupStatusChanged
  | GroupOwnerTransferred
  | GroupDismissed
  | MemberJoined
  | MemberLeft
  | MemberRoleChanged
  | GroupSnapshot;

export type DecodeFailureKind = 'invalid_json' | 'schema' | 'unknown_type' | 'unknown_version' | 'oversized';
export type DecodeResult =
  | { ok: true; event: GroupEvent }
  | { ok: false; kind: DecodeFailureKind; reason: string };

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Bytes -> event, or the reason it is not one. Pure; never throws. `maxBytes`
 * is checked before parsing so an oversized value costs nothing to reject.
 */
export function decodeEvent(value: Buffer | string | null, maxBytes = Infinity): DecodeResult {
  if (value === null) return { ok: false, kind: 'invalid_json', reason: 'empty value (tombstone)' };
  const size = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  if (size > maxBytes) {
    return { ok: false, kind: 'oversized', reason: `value is ${size} bytes, limit ${maxBytes}` };
  }
  const text = typeof value === 'string' ? value : value.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, kind: 'invalid_json', reason: `not JSON: ${(err as Error).message}` };
  }
  // The projector's hot path: a known type and version that validates in one
  // pass. The full schema includes the header's, so success here is exactly
  // success below; any failure takes the path below for its precise reason.
  const known = fastSchema(json);
  if (known) {
    const parsed = known.safeParse(json);
    // Bytes decode (U+FFFD for bad UTF-8) to well-formed strings, so from
    // bytes a lone surrogate can only come spelled as a `\u` escape.
    const mayHoldSurrogate = typeof value === 'string' || text.includes('\\u');
    if (parsed.success && !(mayHoldSurrogate && loneSurrogatePath(parsed.data))) return { ok: true, event: parsed.data };
  }
  const header = EventHeader.safeParse(json);
  if (!header.success) return { ok: false, kind: 'schema', reason: describe(header.error) };
  // Own properties only: a type such as "toString" must not find Object.prototype's.
  const byVersion = Object.hasOwn(EventSchemas, header.data.type)
    ? (EventSchemas as Record<string, Record<number, z.ZodType<GroupEvent>>>)[header.data.type]
    : undefined;
  if (!byVersion) return { ok: false, kind: 'unknown_type', reason: `unknown type "${header.data.type}"` };
  const schema = Object.hasOwn(byVersion, header.data.version) ? byVersion[header.data.version] : undefined;
  if (!schema) {
    return {
      ok: false,
      kind: 'unknown_version',
      reason: `unknown version ${header.data.version} of "${header.data.type}"`,
    };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, kind: 'schema', reason: describe(parsed.error) };
  const illFormed = loneSurrogatePath(parsed.data);
  if (illFormed) {
    return { ok: false, kind: 'schema', reason: `${illFormed}: must be well-formed Unicode (lone surrogate)` };
  }
  return { ok: true, event: parsed.data };
}

export type CheckResult = { ok: true } | { ok: false; reason: string };

/**
 * A producer's self-check before publishing (the OpenIM bridge, the import,
 * the reconciliation): the event as the projector will decode it. Never throws.
 */
export function checkEvent(event: GroupEvent): CheckResult {
  const r = decodeEvent(JSON.stringify(event));
  return r.ok ? { ok: true } : { ok: false, reason: r.reason };
}

function fastSchema(json: unknown): z.ZodType<GroupEvent> | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { type, version } = json as { type?: unknown; version?: unknown };
  if (typeof type !== 'string' || typeof version !== 'number' || !Object.hasOwn(EventSchemas, type)) return undefined;
  const byVersion = (EventSchemas as Record<string, Record<number, z.ZodType<GroupEvent>>>)[type]!;
  return Object.hasOwn(byVersion, version) ? byVersion[version] : undefined;
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * JSON may spell a lone UTF-16 surrogate (`"\ud800"`); JSON.parse accepts it but
 * Redis's Lua cjson refuses to decode it, which would fail the whole apply
 * chunk and stall the partition. Such an event is a schema failure instead.
 * Returns the path of the first offending string, or undefined.
 */
function loneSurrogatePath(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path || '(root)' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = loneSurrogatePath(v, path ? `${path}.${k}` : k);
    if (found) return found;
  }
  return undefined;
}
