import { randomUUID } from 'node:crypto';

/**
 * Builders of raw v1 events (plain JSON, as a producer sends them) for tests
 * and the demo. They are not validated here: the projector's decoder is what
 * is under test.
 */

export interface RawEvent {
  eventID: string;
  type: string;
  version: number;
  groupID: string;
  occurredAt: number;
  operatorUserID: string;
  data: Record<string, unknown>;
}

function event(type: string, groupID: string, data: Record<string, unknown>, at = Date.now()): RawEvent {
  return { eventID: randomUUID(), type, version: 1, groupID, occurredAt: at, operatorUserID: 'imAdmin', data };
}

export interface MemberSpec {
  userID: string;
  joinTime: number;
  roleLevel?: 20 | 60 | 100;
}

export const ev = {
  created: (groupID: string, owner: MemberSpec, others: MemberSpec[] = [], group: Record<string, unknown> = {}) =>
    event('group.created', groupID, {
      group: { groupName: `group ${groupID}`, ownerUserID: owner.userID, createTime: owner.joinTime, creatorUserID: owner.userID, ...group },
      members: [{ ...owner, roleLevel: 100 }, ...others.map((m) => ({ roleLevel: 20, ...m }))],
    }),
  joined: (groupID: string, members: MemberSpec[]) =>
    event('member.joined', groupID, { members: members.map((m) => ({ roleLevel: 20, joinSource: 2, ...m })) }),
  left: (groupID: string, userIDs: string[], reason: 'quit' | 'kicked' = 'quit') =>
    event('member.left', groupID, { userIDs, reason }),
  infoUpdated: (groupID: string, patch: Record<string, unknown>) => event('group.info_updated', groupID, patch),
  statusChanged: (groupID: string, status: 0 | 1 | 3) => event('group.status_changed', groupID, { status }),
  ownerTransferred: (groupID: string, oldOwnerUserID: string, newOwnerUserID: string) =>
    event('group.owner_transferred', groupID, { oldOwnerUserID, newOwnerUserID }),
  dismissed: (groupID: string) => event('group.dismissed', groupID, {}),
  roleChanged: (groupID: string, userID: string, roleLevel: 20 | 60) =>
    event('member.role_changed', groupID, { userID, roleLevel }),
};
