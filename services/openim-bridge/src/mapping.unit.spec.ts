import { describe, expect, it } from 'vitest';
import { classify, mapRecord, type Mapped } from './mapping.js';
import { decodeMsgData, encodeMsgData, peekRoute } from './msgdata.js';
import {
  chatRecord,
  goAppAdmin,
  goGroupInfo,
  goMember,
  goVersion,
  notificationRecord,
  serverMsgID,
} from './openim-traffic.js';

/**
 * Given an OpenIM notification as OpenIM writes it to toRedis (protobuf built
 * from our .proto subset, tips JSON in Go's shape), then these events.
 */

const G = '2137448827';
const OWNER = '3517105008';
const T = 1_700_000_123_456; // > 2^32: sendTime travels as an int64
const SMID = serverMsgID('n1');

function group(over: Record<string, unknown> = {}) {
  return goGroupInfo({ groupID: G, groupName: 'Hiking', ownerUserID: OWNER, creatorUserID: OWNER, createTime: T - 1000, memberCount: 3, ...over });
}

function map(contentType: number, tips: Record<string, unknown>, over: { sendID?: string; serverMsgID?: string } = {}): Mapped {
  const { value } = notificationRecord({ groupID: G, contentType, tips, sendTime: T, serverMsgID: SMID, sendID: OWNER, ...over });
  return mapRecord(value);
}

function events(m: Mapped) {
  if (m.kind !== 'events') throw new Error(`expected events, got ${m.kind}: ${'reason' in m ? m.reason : ''}`);
  return m.events;
}

const header = (seq?: number) => ({
  eventID: `openim:${SMID}`,
  version: 1,
  groupID: G,
  occurredAt: T,
  operatorUserID: OWNER,
  ...(seq === undefined ? {} : { seq }),
});

describe('the ignore path', () => {
  it('ignores group chat, one-to-one messages and notifications that change no membership, by reason', () => {
    expect(mapRecord(chatRecord({ from: 'u1', groupID: G, text: 'hi' }).value)).toEqual({ kind: 'ignored', reason: 'chat', contentType: 101 });
    expect(mapRecord(chatRecord({ from: 'u1', to: 'u2', text: 'hi' }).value)).toMatchObject({ kind: 'ignored', reason: 'not_group' });
    expect(map(1503, { group: group() })).toMatchObject({ kind: 'ignored', reason: 'application' });
    for (const ct of [1512, 1513, 1516]) expect(map(ct, { group: group() })).toMatchObject({ kind: 'ignored', reason: 'member_detail' });
    expect(map(2101, {})).toMatchObject({ kind: 'ignored', reason: 'other_notification' });
    expect(map(1599, {})).toMatchObject({ kind: 'ignored', reason: 'other_notification' });
  });

  it('decides from two varints: a chat message with broken content is still just ignored', () => {
    const bytes = encodeMsgData({ sessionType: 3, contentType: 101, content: Buffer.from('not json') });
    expect(mapRecord(bytes)).toMatchObject({ kind: 'ignored', reason: 'chat' });
    expect(classify(1, 1501)).toBe('not_group');
  });

  it('skips fields the .proto subset does not know (upstream fields, later additions)', () => {
    const { value } = chatRecord({ from: 'u1', groupID: G, text: 'hi' });
    const withFuture = Buffer.concat([value, Buffer.from([0xc2, 0x3e, 0x03, 0x61, 0x62, 0x63])]); // field 1000, "abc"
    expect(peekRoute(withFuture)).toEqual({ sessionType: 3, contentType: 101 });
    expect(decodeMsgData(withFuture)).toMatchObject({ sendID: 'u1', groupID: G, contentType: 101, sendTime: 1_700_000_000_000 });
  });
});

describe('each group notification maps to its events', () => {
  it('1501 created by the owner: group.created with the owner, and a backfill for the real members', () => {
    const m = map(1501, {
      group: group({ notification: 'a<b>&c' }),
      opUser: goMember({ userID: OWNER, roleLevel: 100, joinTime: T - 1000, groupID: G }),
      memberList: [goMember({ userID: OWNER, roleLevel: 100, joinTime: T - 1000, groupID: G })],
      operationTime: T - 1000,
      groupOwnerUser: goMember({ userID: OWNER, roleLevel: 100, joinTime: T - 1000, groupID: G }),
      ...goVersion(1),
    });
    expect(events(m)).toEqual([
      {
        ...header(1),
        eventID: `openim:${SMID}:0`,
        occurredAt: T - 1000,
        type: 'group.created',
        data: {
          group: {
            groupID: G, groupName: 'Hiking', notification: 'a<b>&c', introduction: '', faceURL: '', ownerUserID: OWNER,
            createTime: T - 1000, ex: '', creatorUserID: OWNER, groupType: 2, needVerification: 0, lookMemberInfo: 0,
            applyMemberFriend: 0, notificationUpdateTime: 0, notificationUserID: '',
          },
          members: [{ userID: OWNER, roleLevel: 100, joinTime: T - 1000 }],
        },
      },
    ]);
    expect(m).toMatchObject({
      backfill: { groupID: G, notificationSeq: 1, notificationVersionID: '6650a1b2c3d4e5f601234567', eventIDBase: `openim:${SMID}` },
    });
  });

  it('1501 created by an app admin: every member listed, the admin is not one of them', () => {
    const [created] = events(
      map(
        1501,
        {
          group: group({ memberCount: 3 }),
          opUser: goAppAdmin('imAdmin', G),
          memberList: [
            goMember({ userID: OWNER, roleLevel: 100, joinTime: T, joinSource: 1 }),
            goMember({ userID: 'u2', roleLevel: 20, joinTime: T, joinSource: 2, inviterUserID: 'imAdmin' }),
          ],
          operationTime: T,
          groupOwnerUser: goMember({ userID: OWNER, roleLevel: 100, joinTime: T }),
          ...goVersion(1),
        },
        { sendID: 'imAdmin' },
      ),
    );
    expect(created).toMatchObject({
      operatorUserID: 'imAdmin',
      data: {
        members: [
          { userID: OWNER, roleLevel: 100, joinTime: T, joinSource: 1 },
          { userID: 'u2', roleLevel: 20, joinTime: T, joinSource: 2, inviterUserID: 'imAdmin' },
        ],
      },
    });
  });

  it('1501 with memberList null still creates the group with its owner', () => {
    const [created] = events(map(1501, { group: group(), opUser: null, memberList: null, operationTime: 0, groupOwnerUser: null, ...goVersion(1) }));
    expect(created).toMatchObject({ occurredAt: T, data: { members: [{ userID: OWNER, roleLevel: 100, joinTime: T - 1000 }] } });
  });

  it('1502, 1519 and 1520 update every editable field from the group they carry', () => {
    const g = group({ groupName: 'New', notification: 'N', introduction: 'I', faceURL: 'F', ex: 'X', needVerification: 2, lookMemberInfo: 1, applyMemberFriend: 1, notificationUpdateTime: T, notificationUserID: OWNER });
    for (const ct of [1502, 1519, 1520]) {
      expect(events(map(ct, { opUser: goMember({ userID: OWNER }), group: g, ...goVersion(7) }))).toEqual([
        {
          ...header(7),
          type: 'group.info_updated',
          data: { groupName: 'New', notification: 'N', introduction: 'I', faceURL: 'F', ex: 'X', needVerification: 2, lookMemberInfo: 1, applyMemberFriend: 1, notificationUpdateTime: T, notificationUserID: OWNER },
        },
      ]);
    }
  });

  it('1504 quit: member.left (quit), at the notification time when operationTime is 0', () => {
    expect(events(map(1504, { group: group(), quitUser: goMember({ userID: 'u2' }), operationTime: 0, ...goVersion(4) }))).toEqual([
      { ...header(4), type: 'member.left', data: { userIDs: ['u2'], reason: 'quit' } },
    ]);
  });

  it('1507 from an admin: owner_transferred alone (the projection makes the old owner admin, as upstream does)', () => {
    const out = events(
      map(1507, {
        group: group({ ownerUserID: 'u2' }),
        opUser: goMember({ userID: OWNER, roleLevel: 100 }),
        newGroupOwner: goMember({ userID: 'u2', roleLevel: 100 }),
        oldGroupOwner: '',
        operationTime: 0,
        oldGroupOwnerInfo: goMember({ userID: OWNER, roleLevel: 60 }),
        ...goVersion(9),
      }),
    );
    expect(out).toEqual([{ ...header(9), type: 'group.owner_transferred', data: { oldOwnerUserID: OWNER, newOwnerUserID: 'u2' } }]);
  });

  it('1507 from an ordinary member: owner_transferred alone (the old owner becomes ordinary)', () => {
    const out = events(
      map(1507, {
        group: group({ ownerUserID: 'u2' }),
        opUser: goMember({ userID: OWNER, roleLevel: 100 }),
        newGroupOwner: null,
        oldGroupOwner: '',
        operationTime: 0,
        oldGroupOwnerInfo: goMember({ userID: OWNER, roleLevel: 20 }),
        ...goVersion(9),
      }),
    );
    expect(out).toEqual([{ ...header(9), type: 'group.owner_transferred', data: { oldOwnerUserID: OWNER, newOwnerUserID: 'u2' } }]);
  });

  it('1508 kicked: member.left (kicked) with every kicked user once', () => {
    const kicked = [goMember({ userID: 'u2' }), goMember({ userID: 'u3' }), goMember({ userID: 'u2' })];
    expect(events(map(1508, { group: group(), opUser: goMember({ userID: OWNER }), kickedUserList: kicked, operationTime: 0, ...goVersion(5) }))).toEqual([
      { ...header(5), type: 'member.left', data: { userIDs: ['u2', 'u3'], reason: 'kicked' } },
    ]);
  });

  it('1509 invited: member.joined with join times, sources and the inviter', () => {
    const out = events(
      map(1509, {
        group: group(),
        opUser: goMember({ userID: OWNER, roleLevel: 100 }),
        invitedUserList: [goMember({ userID: 'u2', joinTime: T, joinSource: 2 }), goMember({ userID: 'u3', joinTime: 0, joinSource: 0, inviterUserID: 'u9' })],
        operationTime: 0,
        inviterUser: goMember({ userID: 'u7' }),
        ...goVersion(6),
      }),
    );
    expect(out).toEqual([
      {
        ...header(6),
        type: 'member.joined',
        data: {
          members: [
            { userID: 'u2', roleLevel: 20, joinTime: T, joinSource: 2, inviterUserID: 'u7' },
            { userID: 'u3', roleLevel: 20, joinTime: T, inviterUserID: 'u9' },
          ],
        },
      },
    ]);
  });

  it('1510 entered: member.joined at operationTime', () => {
    expect(events(map(1510, { group: group(), entrantUser: goMember({ userID: 'u4', joinTime: T - 5, joinSource: 3 }), operationTime: T - 5, ...goVersion(8) }))).toEqual([
      { ...header(8), occurredAt: T - 5, type: 'member.joined', data: { members: [{ userID: 'u4', roleLevel: 20, joinTime: T - 5, joinSource: 3 }] } },
    ]);
  });

  it('1511 dismissed: group.dismissed without seq, whatever status it carries', () => {
    expect(events(map(1511, { group: group({ status: 3 }), opUser: goMember({ userID: OWNER }), operationTime: 0 }))).toEqual([
      { ...header(), type: 'group.dismissed', data: {} },
    ]);
  });

  it('1514 and 1515: the group muted (3) and unmuted (0)', () => {
    const tips = { group: group(), opUser: goAppAdmin('imAdmin', G), operationTime: 0, ...goVersion(3) };
    expect(events(map(1514, tips))).toEqual([{ ...header(3), type: 'group.status_changed', data: { status: 3 } }]);
    expect(events(map(1515, tips))).toEqual([{ ...header(3), type: 'group.status_changed', data: { status: 0 } }]);
  });

  it('1517 and 1518: member.role_changed to admin (60) and to ordinary (20)', () => {
    const tips = { group: group(), opUser: goMember({ userID: OWNER }), operationTime: 0, changedUser: goMember({ userID: 'u2', roleLevel: 60 }), groupSortVersion: 2, ...goVersion(10) };
    expect(events(map(1517, tips))).toEqual([{ ...header(10), type: 'member.role_changed', data: { userID: 'u2', roleLevel: 60 } }]);
    expect(events(map(1518, tips))).toEqual([{ ...header(10), type: 'member.role_changed', data: { userID: 'u2', roleLevel: 20 } }]);
  });
});

describe('identity and order', () => {
  it('re-reading the same record gives the same event IDs', () => {
    const { value } = notificationRecord({ groupID: G, contentType: 1504, tips: { group: group(), quitUser: goMember({ userID: 'u2' }), ...goVersion(4) } });
    expect(events(mapRecord(value)).map((e) => e.eventID)).toEqual(events(mapRecord(Buffer.from(value))).map((e) => e.eventID));
  });

  it('carries no seq when the version is 0 or beyond what JSON numbers hold exactly', () => {
    const tips = (v: number) => ({ group: group(), quitUser: goMember({ userID: 'u2' }), operationTime: 0, ...goVersion(v) });
    expect(events(map(1504, tips(0)))[0]).not.toHaveProperty('seq');
    expect(events(map(1504, tips(2 ** 64 - 1)))[0]).not.toHaveProperty('seq');
    expect(events(map(1504, tips(2 ** 53 - 1)))[0]).toHaveProperty('seq', 2 ** 53 - 1);
  });
});

describe('notifications that cannot be read are named, not mapped', () => {
  const cases: [string, () => Mapped, RegExp][] = [
    ['a tombstone', () => mapRecord(null), /tombstone/],
    ['bytes that are not protobuf', () => mapRecord(Buffer.from([0xff, 0xff, 0xff])), /not a protobuf/],
    ['content that is not JSON', () => mapRecord(encodeMsgData({ sessionType: 3, contentType: 1504, serverMsgID: SMID, groupID: G, content: Buffer.from('{') })), /content is not JSON/],
    ['detail that is not JSON', () => mapRecord(encodeMsgData({ sessionType: 3, contentType: 1504, serverMsgID: SMID, groupID: G, content: Buffer.from('{"detail":"{"}') })), /detail is not JSON/],
    ['no group in the tips', () => map(1504, { group: null, quitUser: goMember({ userID: 'u2' }) }), /group is missing/],
    ['no quitUser', () => map(1504, { group: group(), quitUser: null }), /quitUser is missing/],
    ['an empty kicked list', () => map(1508, { group: group(), kickedUserList: null }), /kickedUserList is empty/],
    ['1507 without the old owner', () => map(1507, { group: group(), oldGroupOwnerInfo: null }), /oldGroupOwnerInfo is missing/],
    ['a role that is not 100, 60 or 20', () => map(1510, { group: group(), entrantUser: goMember({ userID: 'u2', roleLevel: 7 }) }), /roleLevel 7/],
    ['another group in the tips', () => map(1504, { group: group({ groupID: 'other' }), quitUser: goMember({ userID: 'u2' }) }), /not the message's group/],
    ['a userID our keys cannot hold', () => map(1504, { group: group(), quitUser: goMember({ userID: 'a:b' }) }), /not a usable ID/],
    ['no serverMsgID', () => map(1504, { group: group(), quitUser: goMember({ userID: 'u2' }) }, { serverMsgID: '' }), /serverMsgID is empty/],
    ['a field of the wrong type', () => map(1504, { group: group({ groupName: 5 as unknown as string }), quitUser: goMember({ userID: 'u2' }) }), /tips: group.groupName/],
    ['a value our schema refuses', () => map(1502, { group: group({ needVerification: 9 }) }), /group.info_updated would be invalid: data.needVerification/],
  ];
  for (const [what, run, reason] of cases) {
    it(`${what}`, () => {
      const m = run();
      expect(m.kind).toBe('unreadable');
      expect((m as { reason: string }).reason).toMatch(reason);
    });
  }
});
