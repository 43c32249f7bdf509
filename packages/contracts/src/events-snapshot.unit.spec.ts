import { describe, expect, it } from 'vitest';
import { checkEvent, decodeEvent, type GroupSnapshot } from './events.js';

const GROUP = '2137448827';
const OWNER = '3517105008';

function snapshot(over: Partial<GroupSnapshot['data']> = {}, seq: number | undefined = 7): GroupSnapshot {
  return {
    eventID: 'snap-1',
    type: 'group.snapshot',
    version: 1,
    groupID: GROUP,
    occurredAt: 1687753739612,
    operatorUserID: '',
    ...(seq === undefined ? {} : { seq }),
    data: {
      group: {
        groupID: GROUP,
        groupName: 'g',
        notification: '',
        introduction: '',
        faceURL: '',
        ownerUserID: OWNER,
        createTime: 1687753739000,
        ex: '',
        creatorUserID: OWNER,
        groupType: 2,
        needVerification: 0,
        lookMemberInfo: 0,
        applyMemberFriend: 0,
        notificationUpdateTime: 0,
        notificationUserID: '',
        status: 0,
      },
      members: [{ userID: OWNER, roleLevel: 100, joinTime: 1687753739000 }],
      ...over,
    },
  };
}

describe('event stream v1.1: seq and group.snapshot', () => {
  it('accepts a whole snapshot, with or without seq', () => {
    expect(checkEvent(snapshot())).toEqual({ ok: true });
    expect(checkEvent(snapshot({}, undefined))).toEqual({ ok: true });
  });

  it('accepts a snapshot part and rejects a part without its count or beyond it', () => {
    expect(checkEvent(snapshot({ part: 2, parts: 3 }))).toEqual({ ok: true });
    expect(checkEvent(snapshot({ part: 2 }))).toMatchObject({ ok: false, reason: expect.stringContaining('part and parts') });
    expect(checkEvent(snapshot({ part: 4, parts: 3 }))).toMatchObject({ ok: false, reason: expect.stringContaining('at most parts') });
  });

  it('accepts a dismissed group with no members left', () => {
    const s = snapshot({ members: [] });
    s.data.group.status = 2;
    expect(checkEvent(s)).toEqual({ ok: true });
  });

  it('rejects a snapshot of another group, duplicate members, and a seq JSON cannot carry exactly', () => {
    const other = snapshot();
    other.data.group.groupID = 'other';
    expect(checkEvent(other)).toMatchObject({ ok: false, reason: expect.stringContaining('data.group.groupID') });
    const m = { userID: OWNER, roleLevel: 100 as const, joinTime: 1 };
    expect(checkEvent(snapshot({ members: [m, m] }))).toMatchObject({ ok: false, reason: expect.stringContaining('unique') });
    expect(checkEvent(snapshot({}, 2 ** 53))).toMatchObject({ ok: false, reason: expect.stringContaining('seq') });
    expect(checkEvent(snapshot({}, 0))).toMatchObject({ ok: false, reason: expect.stringContaining('seq') });
  });

  it('checks a v1 event with seq against its v1 schema and the seq rule', () => {
    const left = {
      eventID: 'e1',
      type: 'member.left' as const,
      version: 1 as const,
      groupID: GROUP,
      occurredAt: 1,
      operatorUserID: '',
      data: { userIDs: ['u1'], reason: 'quit' as const },
    };
    expect(checkEvent({ ...left, seq: 3 })).toEqual({ ok: true });
    expect(checkEvent({ ...left, seq: 1.5 })).toMatchObject({ ok: false });
    expect(checkEvent({ ...left, data: { userIDs: [], reason: 'quit' } })).toMatchObject({ ok: false });
  });

  it('are decoded by the projector: a snapshot with its seq, a v1 event with its seq kept', () => {
    expect(decodeEvent(JSON.stringify(snapshot()))).toMatchObject({ ok: true, event: { type: 'group.snapshot', seq: 7 } });
    const joined = {
      eventID: 'e2', type: 'member.joined', version: 1, groupID: GROUP, occurredAt: 1, seq: 9,
      data: { members: [{ userID: 'u2', roleLevel: 20, joinTime: 1 }] },
    };
    expect(decodeEvent(JSON.stringify(joined))).toMatchObject({ ok: true, event: { seq: 9 } });
  });
});
