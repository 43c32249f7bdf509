import { randomUUID } from 'node:crypto';

/**
 * The one builder of raw v1 events (plain JSON, as a producer sends them) for
 * tests and the demo. They are not validated here: the projector's decoder is
 * what is under test. Each event gets a fresh eventID and occurredAt = now.
 */

export interface RawGroupEvent {
  eventID: string;
  type: string;
  version: 1;
  groupID: string;
  occurredAt: number;
  operatorUserID: string;
  /** Event stream v1.1: the source's version of the group at the change. */
  seq?: number;
  data: Record<string, unknown>;
}

/** The operator of every built event unless one is given: the development admin. */
const OPERATOR = 'imAdmin';

export function rawEvent(
  type: string,
  groupID: string,
  data: Record<string, unknown>,
  operatorUserID = OPERATOR,
): RawGroupEvent {
  return { eventID: randomUUID(), type, version: 1, groupID, occurredAt: Date.now(), operatorUserID, data };
}

export interface MemberSpec {
  userID: string;
  joinTime: number;
  roleLevel?: 20 | 60 | 100;
  joinSource?: 1 | 2 | 3 | 4;
  inviterUserID?: string;
}

export const ev = {
  /** The owner gets roleLevel 100, the others 20 unless given; `group` overrides the group fields. */
  created: (
    groupID: string,
    owner: MemberSpec,
    others: MemberSpec[] = [],
    group: Record<string, unknown> = {},
    operatorUserID = OPERATOR,
  ) =>
    rawEvent(
      'group.created',
      groupID,
      {
        group: { groupName: `group ${groupID}`, ownerUserID: owner.userID, createTime: owner.joinTime, creatorUserID: owner.userID, ...group },
        members: [{ ...owner, roleLevel: 100 }, ...others.map((m) => ({ roleLevel: 20, ...m }))],
      },
      operatorUserID,
    ),
  /** Members join with roleLevel 20 and joinSource 2 (invited) unless given. */
  joined: (groupID: string, members: MemberSpec[], operatorUserID = OPERATOR) =>
    rawEvent('member.joined', groupID, { members: members.map((m) => ({ roleLevel: 20, joinSource: 2, ...m })) }, operatorUserID),
  left: (groupID: string, userIDs: string[], reason: 'quit' | 'kicked' = 'quit') =>
    rawEvent('member.left', groupID, { userIDs, reason }),
  infoUpdated: (groupID: string, patch: Record<string, unknown>) => rawEvent('group.info_updated', groupID, patch),
  statusChanged: (groupID: string, status: 0 | 1 | 3) => rawEvent('group.status_changed', groupID, { status }),
  ownerTransferred: (groupID: string, oldOwnerUserID: string, newOwnerUserID: string) =>
    rawEvent('group.owner_transferred', groupID, { oldOwnerUserID, newOwnerUserID }),
  dismissed: (groupID: string) => rawEvent('group.dismissed', groupID, {}),
  roleChanged: (groupID: string, userID: string, roleLevel: 20 | 60) =>
    rawEvent('member.role_changed', groupID, { userID, roleLevel }),
};
