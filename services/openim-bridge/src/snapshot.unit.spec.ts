import type { MemberIn } from '@imgroups/contracts';
import { describe, expect, it } from 'vitest';
import { MAX_PLAUSIBLE_VERSION, plausibleVersion } from './backfill.js';
import { toSnapshotGroup } from './members.js';
import { snapshotEvents, stateDigest } from './snapshot.js';

const G = 'g1';
const group = toSnapshotGroup({
  groupID: G, groupName: 'n', notification: '', introduction: '', faceURL: '', ownerUserID: 'u0', createTime: 1, ex: '', status: 0,
  creatorUserID: 'u0', groupType: 2, needVerification: 0, lookMemberInfo: 0, applyMemberFriend: 0, notificationUpdateTime: 0, notificationUserID: '',
});
const members = (n: number): MemberIn[] =>
  Array.from({ length: n }, (_, i) => ({ userID: `u${i}`, roleLevel: i === 0 ? 100 : 20, joinTime: 1000 + (n - i) }) as MemberIn);
const base = { group, seq: 5, eventIDBase: 'b', occurredAt: 9, maxBytes: 1024 * 1024 };

describe('group snapshots', () => {
  it('a group that fits is one event without part fields', () => {
    const [e, ...rest] = snapshotEvents({ ...base, members: members(3), partMembers: 10 });
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ eventID: 'b:1', type: 'group.snapshot', seq: 5, groupID: G });
    expect(e!.data).not.toHaveProperty('part');
    expect(e!.data.members.map((m) => m.userID)).toEqual(['u2', 'u1', 'u0']); // join time, then userID
  });

  it('a large group comes in parts with the same seq and group, every member once', () => {
    const out = snapshotEvents({ ...base, members: members(45), partMembers: 20 });
    expect(out.map((e) => [e.eventID, e.data.part, e.data.parts, e.seq, e.data.members.length])).toEqual([
      ['b:1', 1, 3, 5, 20],
      ['b:2', 2, 3, 5, 20],
      ['b:3', 3, 3, 5, 5],
    ]);
    expect(new Set(out.flatMap((e) => e.data.members.map((m) => m.userID))).size).toBe(45);
    expect(out.every((e) => e.data.group === group)).toBe(true);
  });

  it('parts are split further until each fits the byte limit', () => {
    const out = snapshotEvents({ ...base, members: members(40), partMembers: 1000, maxBytes: 2000 });
    expect(out.length).toBeGreaterThan(1);
    for (const e of out) expect(Buffer.byteLength(JSON.stringify(e))).toBeLessThanOrEqual(2000);
  });

  it('a dismissed group with no members left is one empty snapshot', () => {
    const out = snapshotEvents({ ...base, group: { ...group, status: 2 }, members: [], partMembers: 10 });
    expect(out).toHaveLength(1);
    expect(out[0]!.data).toMatchObject({ members: [], group: { status: 2 } });
  });

  it('the state digest changes with the state, not with member order', () => {
    const ms = members(5);
    expect(stateDigest(group, ms, 5)).toBe(stateDigest(group, [...ms].reverse(), 5));
    expect(stateDigest(group, ms, 5)).not.toBe(stateDigest(group, ms.slice(1), 5));
    expect(stateDigest(group, ms, 5)).not.toBe(stateDigest(group, ms, 6));
  });
});

describe('which API versions are versions (and not v3.8.3-patch.2 ID hashes)', () => {
  it('takes a small version not below the notification\'s', () => {
    expect(plausibleVersion(7, 3)).toBe(true);
    expect(plausibleVersion(7, undefined)).toBe(true);
  });
  it('refuses 0, a version below the notification\'s, and anything hash-sized', () => {
    expect(plausibleVersion(0, undefined)).toBe(false);
    expect(plausibleVersion(2, 3)).toBe(false);
    expect(plausibleVersion(MAX_PLAUSIBLE_VERSION + 1, 1)).toBe(false);
    expect(plausibleVersion(13_835_058_055_282_163_712, 1)).toBe(false); // a uint64 hash as JSON.parse reads it
  });
});
