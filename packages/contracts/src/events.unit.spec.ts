import { describe, expect, it } from 'vitest';
import { decodeEvent, EVENT_TYPES, type DecodeFailureKind, type EventType } from './events.js';

/**
 * The decoder is the gate in front of the projection: whatever it accepts is
 * applied, whatever it rejects goes to the dead-letter topic with `kind` and
 * `reason`. So each rejection is checked for the right kind and for a reason
 * that names the offending field (an operator reads it in the DLQ).
 */

type Json = Record<string, unknown>;

const HEADER = {
  eventID: '01J2X3Y4Z5ABCDEFGHJKMNPQRS',
  version: 1,
  groupID: '2137448827',
  occurredAt: 1687753739612,
  operatorUserID: '3517105008',
} as const;

const OWNER = '3517105008';

/** One valid event per type, as a producer would send it. */
function validEvent(type: EventType): Json {
  const data: Record<EventType, Json> = {
    'group.created': {
      group: {
        groupID: HEADER.groupID,
        groupName: 'Friday football',
        notification: 'Bring water',
        introduction: 'Five-a-side',
        faceURL: 'https://example.com/f.png',
        ownerUserID: OWNER,
        createTime: 1687753739000,
        ex: '{"k":"v"}',
        creatorUserID: OWNER,
        groupType: 2,
        needVerification: 1,
        lookMemberInfo: 0,
        applyMemberFriend: 1,
        notificationUpdateTime: 1687753739500,
        notificationUserID: OWNER,
      },
      members: [
        { userID: OWNER, roleLevel: 100, joinTime: 1687753739000 },
        { userID: '42', roleLevel: 20, joinTime: 1687753739001, joinSource: 2, inviterUserID: OWNER },
      ],
    },
    'group.info_updated': { groupName: 'Saturday football', needVerification: 2 },
    'group.status_changed': { status: 3 },
    'group.owner_transferred': { oldOwnerUserID: OWNER, newOwnerUserID: '42' },
    'group.dismissed': {},
    'member.joined': { members: [{ userID: '77', roleLevel: 20, joinTime: 1687753740000, joinSource: 3 }] },
    'member.left': { userIDs: ['77'], reason: 'quit' },
    'member.role_changed': { userID: '42', roleLevel: 60 },
    'group.snapshot': {
      group: { groupID: HEADER.groupID, ownerUserID: OWNER, createTime: 1687753739000, status: 0 },
      members: [{ userID: OWNER, roleLevel: 100, joinTime: 1687753739000 }],
    },
  };
  return { ...HEADER, type, data: data[type] };
}

/** A valid event of `type` with `edit` applied to a deep copy (set a value, or delete with `undefined`). */
function mutated(type: EventType, edit: (e: Json & { data: Json }) => void): Json {
  const e = structuredClone(validEvent(type)) as Json & { data: Json };
  edit(e);
  return e;
}

function decode(value: unknown, maxBytes?: number) {
  return decodeEvent(JSON.stringify(value), maxBytes);
}

/** Asserts a rejection of `kind` whose reason matches `reason` (a field path or a phrase). */
function expectRejected(result: ReturnType<typeof decodeEvent>, kind: DecodeFailureKind, reason: RegExp) {
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (result.ok) return;
  expect(result.kind).toBe(kind);
  expect(result.reason).toMatch(reason);
}

describe('decoding a valid event', () => {
  it.each(EVENT_TYPES)('accepts a valid %s event with its type, version and data', (type) => {
    const r = decode(validEvent(type));
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok) return;
    expect(r.event.type).toBe(type);
    expect(r.event.version).toBe(1);
    expect(r.event.groupID).toBe(HEADER.groupID);
    expect(r.event.eventID).toBe(HEADER.eventID);
  });

  it('lists exactly the nine event types of the contract (v1.1 adds group.snapshot)', () => {
    expect([...EVENT_TYPES].sort()).toEqual(
      [
        'group.created',
        'group.info_updated',
        'group.status_changed',
        'group.owner_transferred',
        'group.dismissed',
        'member.joined',
        'member.left',
        'member.role_changed',
        'group.snapshot',
      ].sort(),
    );
  });

  it('accepts the value as a Buffer as well as a string', () => {
    const r = decodeEvent(Buffer.from(JSON.stringify(validEvent('member.joined'))));
    expect(r.ok).toBe(true);
  });

  it('fills the optional group fields of group.created with their defaults', () => {
    const r = decode(
      mutated('group.created', (e) => {
        e.data.group = { ownerUserID: OWNER, createTime: 5 };
      }),
    );
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok || r.event.type !== 'group.created') return;
    expect(r.event.data.group).toEqual({
      ownerUserID: OWNER,
      createTime: 5,
      groupName: '',
      notification: '',
      introduction: '',
      faceURL: '',
      ex: '',
      creatorUserID: '',
      groupType: 2,
      needVerification: 0,
      lookMemberInfo: 0,
      applyMemberFriend: 0,
      notificationUpdateTime: 0,
      notificationUserID: '',
    });
  });

  it('defaults a missing operatorUserID to the empty string', () => {
    const r = decode(mutated('group.dismissed', (e) => delete e.operatorUserID));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.event.operatorUserID).toBe('');
  });

  it('accepts a groupID of exactly 64 characters and one of unicode letters', () => {
    expect(decode(mutated('group.dismissed', (e) => (e.groupID = 'g'.repeat(64)))).ok).toBe(true);
    expect(decode(mutated('group.dismissed', (e) => (e.groupID = 'grüppe-😀'))).ok).toBe(true);
  });

  it('accepts occurredAt 0 and Number.MAX_SAFE_INTEGER', () => {
    expect(decode(mutated('group.dismissed', (e) => (e.occurredAt = 0))).ok).toBe(true);
    expect(decode(mutated('group.dismissed', (e) => (e.occurredAt = Number.MAX_SAFE_INTEGER))).ok).toBe(true);
  });

  it('drops fields the schema does not know instead of carrying them into the event', () => {
    const r = decode(mutated('member.role_changed', (e) => ((e.data.extra = 1), (e.extra = 2))));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event).not.toHaveProperty('extra');
    expect(r.event.data).not.toHaveProperty('extra');
  });
});

describe('rejecting a value that is no event at all', () => {
  it('rejects text that is not JSON as invalid_json', () => {
    expectRejected(decodeEvent(Buffer.from('{nope')), 'invalid_json', /not JSON/);
  });

  it('rejects a truncated JSON value as invalid_json', () => {
    const text = JSON.stringify(validEvent('member.joined'));
    expectRejected(decodeEvent(text.slice(0, text.length - 5)), 'invalid_json', /not JSON/);
  });

  it('rejects an empty value as invalid_json', () => {
    expectRejected(decodeEvent(''), 'invalid_json', /not JSON/);
  });

  it('rejects a tombstone (null value) as invalid_json naming the tombstone', () => {
    expectRejected(decodeEvent(null), 'invalid_json', /tombstone/);
  });

  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"member.joined"'],
    ['an array', '[]'],
  ])('rejects JSON %s as a schema failure', (_, text) => {
    expectRejected(decodeEvent(text), 'schema', /\(root\)|eventID/);
  });

  it('rejects a value over maxBytes as oversized, naming its size and the limit', () => {
    const text = JSON.stringify(validEvent('group.created'));
    const size = Buffer.byteLength(text);
    expectRejected(decodeEvent(text, size - 1), 'oversized', new RegExp(`${size} bytes, limit ${size - 1}`));
  });

  it('accepts a value of exactly maxBytes', () => {
    const text = JSON.stringify(validEvent('group.created'));
    expect(decodeEvent(text, Buffer.byteLength(text)).ok).toBe(true);
  });

  it('measures maxBytes in UTF-8 bytes, not characters', () => {
    const text = JSON.stringify(mutated('group.info_updated', (e) => (e.data = { groupName: 'ü'.repeat(100) })));
    expect(text.length).toBeLessThan(Buffer.byteLength(text));
    expectRejected(decodeEvent(text, text.length), 'oversized', /bytes, limit/);
    expectRejected(decodeEvent(Buffer.from(text), text.length), 'oversized', /bytes, limit/);
  });

  it('checks the size before parsing, so oversized garbage is oversized and not invalid_json', () => {
    expectRejected(decodeEvent('x'.repeat(100), 10), 'oversized', /100 bytes, limit 10/);
  });
});

describe('rejecting a malformed header', () => {
  const header = (edit: (e: Json) => void) => decode(mutated('member.left', edit));

  it.each([
    ['eventID missing', (e: Json) => delete e.eventID, /eventID/],
    ['eventID empty', (e: Json) => (e.eventID = ''), /eventID/],
    ['eventID a number', (e: Json) => (e.eventID = 7), /eventID/],
    ['eventID over 128 characters', (e: Json) => (e.eventID = 'e'.repeat(129)), /eventID/],
    ['groupID missing', (e: Json) => delete e.groupID, /groupID/],
    ['groupID empty', (e: Json) => (e.groupID = ''), /groupID: must not be empty/],
    ['groupID a number', (e: Json) => (e.groupID = 2137448827), /groupID/],
    ['groupID with "{"', (e: Json) => (e.groupID = 'a{b'), /groupID: must not contain/],
    ['groupID with "}"', (e: Json) => (e.groupID = 'a}b'), /groupID: must not contain/],
    ['groupID with ":"', (e: Json) => (e.groupID = 'a:b'), /groupID: must not contain/],
    ['groupID with a newline', (e: Json) => (e.groupID = 'a\nb'), /groupID: must not contain/],
    ['groupID with NUL', (e: Json) => (e.groupID = 'a\u0000b'), /groupID: must not contain/],
    ['groupID with DEL', (e: Json) => (e.groupID = 'a\u007fb'), /groupID: must not contain/],
    ['groupID of 65 characters', (e: Json) => (e.groupID = 'g'.repeat(65)), /groupID: must be at most 64/],
    ['occurredAt missing', (e: Json) => delete e.occurredAt, /occurredAt/],
    ['occurredAt negative', (e: Json) => (e.occurredAt = -1), /occurredAt/],
    ['occurredAt fractional', (e: Json) => (e.occurredAt = 1687753739612.5), /occurredAt/],
    ['occurredAt a string', (e: Json) => (e.occurredAt = '1687753739612'), /occurredAt/],
    ['occurredAt beyond 2^53', (e: Json) => (e.occurredAt = 2 ** 60), /occurredAt/],
    ['version missing', (e: Json) => delete e.version, /version/],
    ['version a string', (e: Json) => (e.version = '1'), /version/],
    ['version fractional', (e: Json) => (e.version = 1.5), /version/],
    ['type missing', (e: Json) => delete e.type, /type/],
    ['type a number', (e: Json) => (e.type = 3), /type/],
    ['operatorUserID a number', (e: Json) => (e.operatorUserID = 3517105008), /operatorUserID/],
  ])('rejects %s as a schema failure naming the field', (_, edit, reason) => {
    expectRejected(header(edit), 'schema', reason);
  });

  it('rejects an unknown type as unknown_type, naming the type', () => {
    expectRejected(header((e) => (e.type = 'member.teleported')), 'unknown_type', /"member\.teleported"/);
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'rejects the type "%s" (an Object.prototype name) as unknown_type',
    (type) => {
      expectRejected(decodeEvent(`{"eventID":"e","type":"${type}","version":1,"groupID":"g","occurredAt":1,"data":{}}`), 'unknown_type', /unknown type/);
    },
  );

  it.each([0, 2, -1])('rejects version %i of a known type as unknown_version, naming type and version', (version) => {
    expectRejected(
      header((e) => (e.version = version)),
      'unknown_version',
      new RegExp(`unknown version ${version} of "member\\.left"`),
    );
  });
});

describe('rejecting malformed data, per type', () => {
  type Case = [string, EventType, (e: Json & { data: Json }) => void, RegExp];
  const group = (e: Json & { data: Json }) => e.data.group as Json;
  const members = (e: Json & { data: Json }) => e.data.members as Json[];

  const cases: Case[] = [
    // group.created
    ['group.created without the owner in members', 'group.created', (e) => members(e).splice(0, 1), /data\.members: members must include the owner/],
    ['group.created whose group.groupID differs from groupID', 'group.created', (e) => (group(e).groupID = '99'), /data\.group\.groupID: data\.group\.groupID must equal groupID/],
    ['group.created with a duplicate userID', 'group.created', (e) => members(e).push({ ...members(e)[1] }), /data\.members: userIDs must be unique/],
    ['group.created with roleLevel 50', 'group.created', (e) => (members(e)[1]!.roleLevel = 50), /data\.members\.1\.roleLevel/],
    ['group.created with roleLevel as a string', 'group.created', (e) => (members(e)[1]!.roleLevel = '20'), /data\.members\.1\.roleLevel/],
    ['group.created without ownerUserID', 'group.created', (e) => delete group(e).ownerUserID, /data\.group\.ownerUserID/],
    ['group.created with an ownerUserID holding ":"', 'group.created', (e) => (group(e).ownerUserID = 'a:b'), /data\.group\.ownerUserID/],
    ['group.created without createTime', 'group.created', (e) => delete group(e).createTime, /data\.group\.createTime/],
    ['group.created with a negative createTime', 'group.created', (e) => (group(e).createTime = -5), /data\.group\.createTime/],
    ['group.created with no members', 'group.created', (e) => (e.data.members = []), /data\.members/],
    ['group.created without group', 'group.created', (e) => delete e.data.group, /data\.group/],
    ['group.created with a member missing joinTime', 'group.created', (e) => delete members(e)[1]!.joinTime, /data\.members\.1\.joinTime/],
    ['group.created with joinSource 5', 'group.created', (e) => (members(e)[1]!.joinSource = 5), /data\.members\.1\.joinSource/],
    ['group.created with groupType 3', 'group.created', (e) => (group(e).groupType = 3), /data\.group\.groupType/],
    ['group.created with needVerification 3', 'group.created', (e) => (group(e).needVerification = 3), /data\.group\.needVerification/],
    ['group.created with lookMemberInfo 2', 'group.created', (e) => (group(e).lookMemberInfo = 2), /data\.group\.lookMemberInfo/],
    ['group.created with a groupName over 1024 characters', 'group.created', (e) => (group(e).groupName = 'n'.repeat(1025)), /data\.group\.groupName/],
    ['group.created with a numeric groupName', 'group.created', (e) => (group(e).groupName = 12), /data\.group\.groupName/],
    // group.info_updated
    ['group.info_updated with empty data', 'group.info_updated', (e) => (e.data = {}), /data: must change at least one field/],
    ['group.info_updated with only unknown fields', 'group.info_updated', (e) => (e.data = { status: 2, memberCount: 9 }), /data: must change at least one field/],
    ['group.info_updated with a numeric groupName', 'group.info_updated', (e) => (e.data = { groupName: 5 }), /data\.groupName/],
    ['group.info_updated with needVerification "1"', 'group.info_updated', (e) => (e.data = { needVerification: '1' }), /data\.needVerification/],
    ['group.info_updated with applyMemberFriend 2', 'group.info_updated', (e) => (e.data = { applyMemberFriend: 2 }), /data\.applyMemberFriend/],
    ['group.info_updated with a fractional notificationUpdateTime', 'group.info_updated', (e) => (e.data = { notificationUpdateTime: 1.5 }), /data\.notificationUpdateTime/],
    ['group.info_updated with null data', 'group.info_updated', (e) => (e.data = null as unknown as Json), /data/],
    // group.status_changed
    ['group.status_changed to 2 (dismissal is its own event)', 'group.status_changed', (e) => (e.data.status = 2), /data\.status/],
    ['group.status_changed to 7', 'group.status_changed', (e) => (e.data.status = 7), /data\.status/],
    ['group.status_changed with status "3"', 'group.status_changed', (e) => (e.data.status = '3'), /data\.status/],
    ['group.status_changed without status', 'group.status_changed', (e) => (e.data = {}), /data\.status/],
    // group.owner_transferred
    ['group.owner_transferred without oldOwnerUserID', 'group.owner_transferred', (e) => delete e.data.oldOwnerUserID, /data\.oldOwnerUserID/],
    ['group.owner_transferred without newOwnerUserID', 'group.owner_transferred', (e) => delete e.data.newOwnerUserID, /data\.newOwnerUserID/],
    ['group.owner_transferred to an empty userID', 'group.owner_transferred', (e) => (e.data.newOwnerUserID = ''), /data\.newOwnerUserID/],
    // group.dismissed
    ['group.dismissed without data', 'group.dismissed', (e) => delete (e as Json).data, /data/],
    // member.joined
    ['member.joined with no members', 'member.joined', (e) => (e.data.members = []), /data\.members/],
    ['member.joined with a duplicate userID', 'member.joined', (e) => members(e).push({ ...members(e)[0] }), /data\.members: userIDs must be unique/],
    ['member.joined with a userID holding "}"', 'member.joined', (e) => (members(e)[0]!.userID = 'a}'), /data\.members\.0\.userID/],
    ['member.joined with a fractional joinTime', 'member.joined', (e) => (members(e)[0]!.joinTime = 1.25), /data\.members\.0\.joinTime/],
    ['member.joined with roleLevel 0', 'member.joined', (e) => (members(e)[0]!.roleLevel = 0), /data\.members\.0\.roleLevel/],
    // member.left
    ['member.left with no userIDs', 'member.left', (e) => (e.data.userIDs = []), /data\.userIDs/],
    ['member.left with an empty userID', 'member.left', (e) => (e.data.userIDs = ['']), /data\.userIDs\.0/],
    ['member.left with reason "banned"', 'member.left', (e) => (e.data.reason = 'banned'), /data\.reason/],
    ['member.left without reason', 'member.left', (e) => delete e.data.reason, /data\.reason/],
    // member.role_changed
    ['member.role_changed to 100 (ownership moves by transfer)', 'member.role_changed', (e) => (e.data.roleLevel = 100), /data\.roleLevel/],
    ['member.role_changed to 30', 'member.role_changed', (e) => (e.data.roleLevel = 30), /data\.roleLevel/],
    ['member.role_changed without userID', 'member.role_changed', (e) => delete e.data.userID, /data\.userID/],
  ];

  it.each(cases)('rejects %s as a schema failure naming the field', (_, type, edit, reason) => {
    expectRejected(decode(mutated(type, edit)), 'schema', reason);
  });

  it('accepts member.left for several users, kicked', () => {
    expect(decode(mutated('member.left', (e) => (e.data = { userIDs: ['1', '2'], reason: 'kicked' }))).ok).toBe(true);
  });

  it('accepts group.created without group.groupID (the header names the group)', () => {
    expect(decode(mutated('group.created', (e) => delete group(e).groupID)).ok).toBe(true);
  });

  it.each([0, 1, 3])('accepts group.status_changed to %i', (status) => {
    expect(decode(mutated('group.status_changed', (e) => (e.data.status = status))).ok).toBe(true);
  });

  it.each([
    ['a data string', ['data', 'groupName']],
    ['a member userID', ['data', 'members', 0, 'userID']],
  ] as const)('rejects a lone UTF-16 surrogate in %s as a schema failure (Redis Lua cjson cannot decode it)', (_, path) => {
    const type: EventType = path[1] === 'groupName' ? 'group.info_updated' : 'member.joined';
    const json = JSON.stringify(validEvent(type)).replace(
      type === 'group.info_updated' ? '"Saturday football"' : '"77"',
      type === 'group.info_updated' ? '"Sat\\ud800urday"' : '"7\\udc007"',
    );
    expect(json).toMatch(/\\ud[8c]00/);
    expectRejected(decodeEvent(json), 'schema', new RegExp(`${path.join('\\.')}: .*surrogate`));
  });

  it('accepts a properly paired surrogate (an emoji) in a string', () => {
    const json = JSON.stringify(validEvent('group.info_updated')).replace('"Saturday football"', '"\\ud83d\\ude00 football"');
    const r = decodeEvent(json);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (r.ok && r.event.type === 'group.info_updated') expect(r.event.data.groupName).toBe('😀 football');
  });
});
