import { describe, expect, it } from 'vitest';
import { exportSnapshot, type ExportState } from './import.js';
import { toMemberIn } from './members.js';
import { groupFromDoc, memberFromDoc, parseExportLine, versionFromDoc } from './mongo-export.js';
import { compareGroup, roleMap, type OurGroup } from './reconcile.js';

/** mongoexport --jsonFormat=relaxed lines as OpenIM's collections hold them (OPENIM.md §4). */
const GROUP_LINE =
  '{"_id":{"$oid":"6650a1b2c3d4e5f601234567"},"group_id":"g1","group_name":"Hiking","notification":"n","introduction":"i","face_url":"f",' +
  '"create_time":{"$date":"2024-05-01T12:34:56.789Z"},"ex":"","status":0,"creator_user_id":"u1","group_type":2,"need_verification":1,' +
  '"look_member_info":0,"apply_member_friend":1,"notification_update_time":{"$date":{"$numberLong":"-62135596800000"}},"notification_user_id":""}';
const MEMBER_LINES = [
  '{"_id":{"$oid":"6650a1b2c3d4e5f601234568"},"group_id":"g1","user_id":"u1","nickname":"","face_url":"","role_level":100,"join_time":{"$date":"2024-05-01T12:34:56Z"},"join_source":2,"inviter_user_id":"","operator_user_id":"u1","mute_end_time":{"$date":{"$numberLong":"-62135596800000"}},"ex":""}',
  '{"_id":{"$oid":"6650a1b2c3d4e5f601234569"},"group_id":"g1","user_id":"u2","nickname":"","face_url":"","role_level":20,"join_time":{"$date":"2024-05-02T00:00:00Z"},"join_source":3,"inviter_user_id":"u1","operator_user_id":"u1","mute_end_time":{"$date":"1970-01-01T00:00:00Z"},"ex":""}',
];

describe('reading a mongoexport', () => {
  it('reads a group: ISO dates to ms, dates before 1970 (OpenIM\'s zero time) to 0', () => {
    expect(groupFromDoc(parseExportLine(GROUP_LINE)!)).toEqual({
      groupID: 'g1', groupName: 'Hiking', notification: 'n', introduction: 'i', faceURL: 'f', ownerUserID: '',
      createTime: Date.UTC(2024, 4, 1, 12, 34, 56, 789), ex: '', status: 0, creatorUserID: 'u1', groupType: 2, needVerification: 1,
      lookMemberInfo: 0, applyMemberFriend: 1, notificationUpdateTime: 0, notificationUserID: '',
    });
  });

  it('reads members and versions, $numberLong included', () => {
    expect(memberFromDoc(parseExportLine(MEMBER_LINES[1]!)!)).toEqual({
      groupID: 'g1', userID: 'u2', roleLevel: 20, joinTime: Date.UTC(2024, 4, 2), joinSource: 3, inviterUserID: 'u1',
    });
    expect(versionFromDoc(parseExportLine('{"_id":{"$oid":"66aa"},"d_id":"g1","version":{"$numberLong":"12"},"logs":[]}')!)).toEqual({
      groupID: 'g1', version: 12, versionID: '66aa',
    });
    expect(parseExportLine('   ')).toBeUndefined();
  });

  it('makes one snapshot per group: owner from role 100, status kept, seq from the version', () => {
    const info = groupFromDoc(parseExportLine(GROUP_LINE)!);
    const members = MEMBER_LINES.map((l) => toMemberIn(memberFromDoc(parseExportLine(l)!), info.createTime));
    const made = exportSnapshot('g1', { info: { ...info, status: 2 }, members, version: 12 }, { partMembers: 100, maxBytes: 1 << 20, occurredAt: 1, idPrefix: 'openim-import' });
    expect(made.ok).toBe(true);
    const [e] = (made as { events: { seq?: number; eventID: string; data: { group: { ownerUserID: string; status: number }; members: unknown[] } }[] }).events;
    expect(e).toMatchObject({ seq: 12, data: { group: { ownerUserID: 'u1', status: 2 } } });
    expect(e!.data.members).toHaveLength(2);
    expect(e!.eventID).toMatch(/^openim-import:g1:[0-9a-f]{20}:1$/);
  });

  it('a group with no owner and no creator is skipped with its reason', () => {
    const info = { ...groupFromDoc(parseExportLine(GROUP_LINE)!), creatorUserID: '' };
    const state: ExportState = { info, members: [], version: undefined };
    expect(exportSnapshot('g1', state, { partMembers: 100, maxBytes: 1 << 20, occurredAt: 1, idPrefix: 'x' })).toMatchObject({ ok: false, reason: 'no_owner' });
  });
});

describe('reconciliation compares our view with OpenIM\'s', () => {
  const ours = (over: Partial<OurGroup> = {}): OurGroup => ({
    groupID: 'g1', status: 0, ownerUserID: 'u1', createTime: 1, fields: { groupName: 'Hiking' },
    members: roleMap([{ userID: 'u1', roleLevel: 100 }, { userID: 'u2', roleLevel: 20 }]), ...over,
  });
  const info = groupFromDoc(parseExportLine(GROUP_LINE)!);
  const theirs = (over: Partial<typeof info> = {}, members = [{ userID: 'u1', roleLevel: 100 }, { userID: 'u2', roleLevel: 20 }]) => ({
    info: { ...info, ownerUserID: 'u1', ...over }, members: roleMap(members),
  });

  it('finds nothing when both agree', () => expect(compareGroup(ours(), theirs(), 'g1')).toEqual([]));
  it('finds a dismissal OpenIM never announced (deleteMember=true)', () =>
    expect(compareGroup(ours(), theirs({ status: 2 }, []), 'g1')).toMatchObject([{ kind: 'dismissed_without_notification' }]));
  it('finds a deleted group', () => expect(compareGroup(ours(), { info: undefined, members: new Map() }, 'g1')).toMatchObject([{ kind: 'deleted' }]));
  it('finds lost joins and leaves, and role drift when roles are known', () => {
    expect(compareGroup(ours(), theirs({}, [{ userID: 'u1', roleLevel: 100 }, { userID: 'u3', roleLevel: 20 }]), 'g1')).toMatchObject([
      { kind: 'members', detail: 'left in OpenIM: u2; joined in OpenIM: u3' },
    ]);
    expect(compareGroup(ours(), theirs({}, [{ userID: 'u1', roleLevel: 100 }, { userID: 'u2', roleLevel: 60 }]), 'g1')).toMatchObject([{ kind: 'roles' }]);
    expect(compareGroup(ours(), theirs({}, [{ userID: 'u1', roleLevel: -1 }, { userID: 'u2', roleLevel: -1 }]), 'g1')).toEqual([]);
  });
  it('finds info and owner drift', () =>
    expect(compareGroup(ours(), theirs({ groupName: 'Renamed', ownerUserID: 'u2' }), 'g1').map((f) => f.kind)).toEqual(['owner', 'info']));
  it('leaves a group we already dismissed alone', () => expect(compareGroup(ours({ status: 2 }), theirs({ groupName: 'x' }), 'g1')).toEqual([]));
});
