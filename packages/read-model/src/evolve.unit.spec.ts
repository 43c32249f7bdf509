import { decodeEvent, type EventType, type GroupEvent } from '@imgroups/contracts';
import { describe, expect, it } from 'vitest';
import { evolve, type Op } from './evolve.js';

/**
 * evolve(event) -> op, in the given / when / then style of emmett's projection
 * tests: given a (decoded, hence valid) event, when it is evolved, then this is
 * the operation on the read model, every value a string as Redis stores it.
 */

const GROUP = '2137448827';
const OWNER = '3517105008';
const OPERATOR = '900';
const T = 1687753739612;

/** Given: an event as a producer sends it, through the real decoder. */
function given(type: EventType, data: unknown, header: Record<string, unknown> = {}): GroupEvent {
  const raw = { eventID: 'ev-1', type, version: 1, groupID: GROUP, occurredAt: T, operatorUserID: OPERATOR, data, ...header };
  const r = decodeEvent(JSON.stringify(raw));
  if (!r.ok) throw new Error(`test event invalid: ${r.reason}`);
  return r.event;
}

/** When + then: the event evolves into exactly `op`. */
function expectOp(event: GroupEvent, op: Op) {
  expect(evolve(event)).toStrictEqual(op);
}

function allValues(op: Op): unknown[] {
  const values: unknown[] = [];
  const walk = (v: unknown) => {
    if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
    else values.push(v);
  };
  walk(op);
  return values;
}

const fullGroup = {
  groupID: GROUP,
  groupName: 'Friday football',
  notification: 'Bring water',
  introduction: 'Five-a-side',
  faceURL: 'https://example.com/f.png',
  ownerUserID: OWNER,
  createTime: T,
  ex: '{"k":"v"}',
  creatorUserID: '555',
  groupType: 2,
  needVerification: 1,
  lookMemberInfo: 1,
  applyMemberFriend: 1,
  notificationUpdateTime: T + 1,
  notificationUserID: OWNER,
};

describe('evolve group.created', () => {
  it('becomes a create op with every group field as a string, status "0" and one row per member', () => {
    const event = given('group.created', {
      group: fullGroup,
      members: [
        { userID: OWNER, roleLevel: 100, joinTime: T, joinSource: 1 },
        { userID: '42', roleLevel: 60, joinTime: T + 5, joinSource: 2, inviterUserID: OWNER },
      ],
    });
    expectOp(event, {
      op: 'create',
      fields: {
        groupID: GROUP,
        groupName: 'Friday football',
        notification: 'Bring water',
        introduction: 'Five-a-side',
        faceURL: 'https://example.com/f.png',
        ownerUserID: OWNER,
        createTime: String(T),
        ex: '{"k":"v"}',
        status: '0',
        creatorUserID: '555',
        groupType: '2',
        needVerification: '1',
        lookMemberInfo: '1',
        applyMemberFriend: '1',
        notificationUpdateTime: String(T + 1),
        notificationUserID: OWNER,
      },
      members: [
        { userID: OWNER, roleLevel: '100', joinTime: String(T), joinSource: '1', inviterUserID: '', operatorUserID: OPERATOR },
        { userID: '42', roleLevel: '60', joinTime: String(T + 5), joinSource: '2', inviterUserID: OWNER, operatorUserID: OPERATOR },
      ],
    });
  });

  it('forces the owner named by the group to role 100 whatever role the member list gives', () => {
    const event = given('group.created', {
      group: { ownerUserID: OWNER, createTime: T },
      members: [
        { userID: '42', roleLevel: 60, joinTime: T },
        { userID: OWNER, roleLevel: 20, joinTime: T },
      ],
    });
    const op = evolve(event);
    expect(op.op).toBe('create');
    if (op.op !== 'create') return;
    expect(op.members.find((m) => m.userID === OWNER)?.roleLevel).toBe('100');
    expect(op.members.find((m) => m.userID === '42')?.roleLevel).toBe('60');
  });

  it('turns every number into its decimal string, exact beyond 2^32 and never in exponent form', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const event = given('group.created', {
      group: { ownerUserID: OWNER, createTime: big, notificationUpdateTime: 1e15 },
      members: [{ userID: OWNER, roleLevel: 100, joinTime: big - 1 }],
    });
    const op = evolve(event);
    for (const v of allValues(op)) expect(typeof v).toBe('string');
    if (op.op !== 'create') throw new Error('not a create op');
    expect(op.fields.createTime).toBe('9007199254740991');
    expect(op.fields.notificationUpdateTime).toBe('1000000000000000');
    expect(op.members[0]?.joinTime).toBe('9007199254740990');
  });

  it('fills absent group fields with the contract defaults and the creator with the owner', () => {
    const event = given('group.created', {
      group: { ownerUserID: OWNER, createTime: T },
      members: [{ userID: OWNER, roleLevel: 100, joinTime: T }],
    });
    expectOp(event, {
      op: 'create',
      fields: {
        groupID: GROUP,
        groupName: '',
        notification: '',
        introduction: '',
        faceURL: '',
        ownerUserID: OWNER,
        createTime: String(T),
        ex: '',
        status: '0',
        creatorUserID: OWNER,
        groupType: '2',
        needVerification: '0',
        lookMemberInfo: '0',
        applyMemberFriend: '0',
        notificationUpdateTime: '0',
        notificationUserID: '',
      },
      members: [{ userID: OWNER, roleLevel: '100', joinTime: String(T), joinSource: '0', inviterUserID: '', operatorUserID: OPERATOR }],
    });
  });

  it('takes groupID from the event header and never stores a memberCount', () => {
    const event = given(
      'group.created',
      { group: { ownerUserID: OWNER, createTime: T }, members: [{ userID: OWNER, roleLevel: 100, joinTime: T }] },
      { groupID: 'g-from-header' },
    );
    const op = evolve(event);
    if (op.op !== 'create') throw new Error('not a create op');
    expect(op.fields.groupID).toBe('g-from-header');
    expect(op.fields).not.toHaveProperty('memberCount');
  });

  it('records an absent operatorUserID as the empty string on each member row', () => {
    const event = given(
      'group.created',
      { group: { ownerUserID: OWNER, createTime: T }, members: [{ userID: OWNER, roleLevel: 100, joinTime: T }] },
      { operatorUserID: undefined },
    );
    const op = evolve(event);
    if (op.op !== 'create') throw new Error('not a create op');
    expect(op.members[0]?.operatorUserID).toBe('');
  });
});

describe('evolve group.info_updated', () => {
  it('becomes a patch of only the fields the event carries, numbers as strings', () => {
    expectOp(given('group.info_updated', { groupName: 'Saturday', needVerification: 2, notificationUpdateTime: T }), {
      op: 'patch',
      fields: { groupName: 'Saturday', needVerification: '2', notificationUpdateTime: String(T) },
    });
  });

  it('keeps an empty string as a change (clearing a field), not as an absent field', () => {
    expectOp(given('group.info_updated', { notification: '' }), { op: 'patch', fields: { notification: '' } });
  });
});

describe('evolve the other group events', () => {
  it('group.status_changed becomes a status op with the status as a string', () => {
    expectOp(given('group.status_changed', { status: 3 }), { op: 'status', status: '3' });
    expectOp(given('group.status_changed', { status: 0 }), { op: 'status', status: '0' });
  });

  it('group.owner_transferred becomes a transfer from the old to the new owner', () => {
    expectOp(given('group.owner_transferred', { oldOwnerUserID: OWNER, newOwnerUserID: '42' }), {
      op: 'transfer',
      from: OWNER,
      to: '42',
    });
  });

  it('group.dismissed becomes a dismiss op', () => {
    expectOp(given('group.dismissed', {}), { op: 'dismiss' });
  });
});

describe('evolve the member events', () => {
  it('member.joined becomes a join with one row per member, keeping each given role and join time', () => {
    expectOp(
      given('member.joined', {
        members: [
          { userID: '77', roleLevel: 20, joinTime: T, joinSource: 4, inviterUserID: '42' },
          { userID: '78', roleLevel: 60, joinTime: T + 1 },
        ],
      }),
      {
        op: 'join',
        members: [
          { userID: '77', roleLevel: '20', joinTime: String(T), joinSource: '4', inviterUserID: '42', operatorUserID: OPERATOR },
          { userID: '78', roleLevel: '60', joinTime: String(T + 1), joinSource: '0', inviterUserID: '', operatorUserID: OPERATOR },
        ],
      },
    );
  });

  it('member.left becomes a leave of the named users, whatever the reason', () => {
    expectOp(given('member.left', { userIDs: ['77', '78'], reason: 'kicked' }), { op: 'leave', userIDs: ['77', '78'] });
    expectOp(given('member.left', { userIDs: ['77'], reason: 'quit' }), { op: 'leave', userIDs: ['77'] });
  });

  it('member.role_changed becomes a role op with the role as a string', () => {
    expectOp(given('member.role_changed', { userID: '42', roleLevel: 60 }), { op: 'role', userID: '42', role: '60' });
  });
});

describe('evolve is pure', () => {
  it('gives equal ops for the same event twice and leaves the event untouched', () => {
    const event = given('group.created', {
      group: { ownerUserID: OWNER, createTime: T },
      members: [{ userID: OWNER, roleLevel: 20, joinTime: T }],
    });
    const before = structuredClone(event);
    expect(evolve(event)).toStrictEqual(evolve(event));
    expect(event).toStrictEqual(before);
  });
});
