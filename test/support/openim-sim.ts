import { chatRecord, goAppAdmin, goGroupInfo, goVersion, notificationRecord, serverMsgID } from '@imgroups/openim-bridge';
import { standInGroupInfo, type OpenIMApiStandIn, type StandInGroup } from '@imgroups/openim-bridge/testing';

/**
 * OpenIM, as far as the bridge can see it: each group operation changes the
 * state of the stand-in for OpenIM's HTTP API the way OpenIM's group service
 * changes its database (one version bump per request), and returns the
 * record its notification would put on `toRedis` (OPENIM.md §2, built with
 * openim-traffic.ts). The stand-in's state is the truth the e2e compares our
 * answers with. Silent operations change the state and write nothing, as a
 * dismissal with deleteMember=true does, or a notification OpenIM lost.
 */

export type Member = StandInGroup['members'][number];
export interface OpenIMRecord {
  key: string;
  value: Buffer;
}

const OWNER = 100;
const ADMIN = 60;
const ORDINARY = 20;
/** OpenIM's content types (mapping.ts ContentType; upstream constant.go). */
const CT = {
  created: 1501,
  infoSet: 1502,
  quit: 1504,
  ownerTransferred: 1507,
  kicked: 1508,
  invited: 1509,
  entered: 1510,
  dismissed: 1511,
  memberMuted: 1512,
  muted: 1514,
  unmuted: 1515,
  memberInfoSet: 1516,
  setAdmin: 1517,
  setOrdinary: 1518,
  nameSet: 1520,
} as const;

export class OpenIMSim {
  /** Group notification records made, copies from again() included. */
  notifications = 0;
  /** Of those, copies. */
  redelivered = 0;
  chats = 0;
  /** Everyone who was ever a member of a group here. */
  readonly users = new Set<string>();
  private now: number;

  constructor(
    private readonly api: OpenIMApiStandIn,
    start = 1_700_000_000_000,
  ) {
    this.now = start;
  }

  get groupIDs(): string[] {
    return [...this.api.groups.keys()];
  }

  group(groupID: string): StandInGroup {
    const g = this.api.groups.get(groupID);
    if (!g) throw new Error(`no group ${groupID} in the stand-in`);
    return g;
  }

  /**
   * CreateGroup. By the owner, the 1501 lists the owner only; by an app admin
   * (not a member), every member, and memberCount counts the admin too
   * (OPENIM.md §2 quirks). Either way the bridge reads the members from the API.
   */
  create(groupID: string, o: { owner: string; members: string[]; name: string; byAppAdmin?: string }): OpenIMRecord {
    const t = this.tick();
    const creator = o.byAppAdmin ?? o.owner;
    const members = [o.owner, ...o.members.filter((u) => u !== o.owner)].map((userID) =>
      this.newMember(groupID, userID, t, {
        roleLevel: userID === o.owner ? OWNER : ORDINARY,
        joinSource: 2,
        operator: creator,
        inviter: userID === o.owner ? '' : creator,
      }),
    );
    const g: StandInGroup = {
      info: standInGroupInfo({ groupID, groupName: o.name, ownerUserID: o.owner, creatorUserID: creator, createTime: t }),
      members,
      version: 1,
      versionID: serverMsgID(`${groupID}:versions`).slice(0, 24),
    };
    this.api.groups.set(groupID, g);
    for (const m of members) this.users.add(m.userID);
    const owner = members[0]!;
    return this.notify(g, CT.created, creator, {
      group: { ...this.tipsGroup(g), ...(o.byAppAdmin ? { memberCount: members.length + 1 } : {}) },
      opUser: o.byAppAdmin ? goAppAdmin(o.byAppAdmin, groupID) : owner,
      memberList: o.byAppAdmin ? members : [owner],
      operationTime: t,
      groupOwnerUser: owner,
    });
  }

  /** 1510: joined by search (or an approved application). */
  enter(groupID: string, userID: string): OpenIMRecord {
    const g = this.group(groupID);
    const t = this.tick();
    const m = this.add(g, this.newMember(groupID, userID, t, { roleLevel: ORDINARY, joinSource: 3, operator: userID, inviter: '' }));
    return this.notify(g, CT.entered, userID, { group: this.tipsGroup(g), entrantUser: m, operationTime: t });
  }

  /** 1509: one InviteUserToGroup, one version, one notification for all. */
  invite(groupID: string, by: string, userIDs: string[]): OpenIMRecord {
    const g = this.group(groupID);
    const t = this.tick();
    const invited = userIDs.map((u) => this.add(g, this.newMember(groupID, u, t, { roleLevel: ORDINARY, joinSource: 2, operator: by, inviter: by })));
    const op = this.member(g, by);
    return this.notify(g, CT.invited, by, { group: this.tipsGroup(g), opUser: op, invitedUserList: invited, operationTime: 0, inviterUser: op });
  }

  /** 1504 */
  quit(groupID: string, userID: string): OpenIMRecord {
    const g = this.group(groupID);
    this.tick();
    const m = this.remove(g, userID);
    return this.notify(g, CT.quit, userID, { group: this.tipsGroup(g), quitUser: m, operationTime: 0 });
  }

  /** 1508 */
  kick(groupID: string, by: string, userIDs: string[]): OpenIMRecord {
    const g = this.group(groupID);
    this.tick();
    const kicked = userIDs.map((u) => this.remove(g, u));
    return this.notify(g, CT.kicked, by, { group: this.tipsGroup(g), opUser: this.member(g, by), kickedUserList: kicked, operationTime: 0 });
  }

  /** 1517 set to admin / 1518 set to ordinary. */
  setRole(groupID: string, by: string, userID: string, role: typeof ADMIN | typeof ORDINARY): OpenIMRecord {
    const g = this.group(groupID);
    this.tick();
    const m = this.member(g, userID);
    m.roleLevel = role;
    return this.notify(g, role === ADMIN ? CT.setAdmin : CT.setOrdinary, by, {
      group: this.tipsGroup(g),
      opUser: this.member(g, by),
      changedUser: m,
      groupSortVersion: g.version + 1,
    });
  }

  /** 1502 (or 1520 for a name only): the tips carry the whole group after the change. */
  setInfo(groupID: string, by: string, patch: Partial<StandInGroup['info']>, contentType: number = CT.infoSet): OpenIMRecord {
    const g = this.group(groupID);
    const t = this.tick();
    Object.assign(g.info, patch, patch.notification === undefined ? {} : { notificationUpdateTime: t, notificationUserID: by });
    return this.notify(g, contentType, by, { group: this.tipsGroup(g), opUser: this.member(g, by) });
  }

  setName(groupID: string, by: string, groupName: string): OpenIMRecord {
    return this.setInfo(groupID, by, { groupName }, CT.nameSet);
  }

  /** 1507: the old owner takes the new owner's former role; `oldGroupOwner` is always "". */
  transferOwner(groupID: string, newOwner: string): OpenIMRecord {
    const g = this.group(groupID);
    this.tick();
    const old = this.member(g, g.info.ownerUserID);
    const next = this.member(g, newOwner);
    old.roleLevel = next.roleLevel;
    next.roleLevel = OWNER;
    g.info.ownerUserID = newOwner;
    return this.notify(g, CT.ownerTransferred, old.userID, {
      group: this.tipsGroup(g),
      opUser: old,
      newGroupOwner: next,
      oldGroupOwner: '',
      operationTime: 0,
      oldGroupOwnerInfo: old,
    });
  }

  /** 1514 muted (status 3) / 1515 unmuted (status 0). */
  mute(groupID: string, by: string, muted: boolean): OpenIMRecord {
    const g = this.group(groupID);
    this.tick();
    g.info.status = muted ? 3 : 0;
    return this.notify(g, muted ? CT.muted : CT.unmuted, by, { group: this.tipsGroup(g), opUser: this.member(g, by), operationTime: 0 });
  }

  /** 1512: a member detail our read model does not keep (the bridge ignores it), but a version bump all the same. */
  muteMember(groupID: string, by: string, userID: string, seconds: number): OpenIMRecord {
    const g = this.group(groupID);
    const t = this.tick();
    const m = this.member(g, userID);
    m.muteEndTime = t + seconds * 1000;
    return this.notify(g, CT.memberMuted, by, { group: this.tipsGroup(g), opUser: this.member(g, by), mutedUser: m, mutedSeconds: seconds });
  }

  /** 1516: a nickname set; ignored by the bridge (member detail). */
  setNickname(groupID: string, userID: string, nickname: string): OpenIMRecord {
    const g = this.group(groupID);
    this.tick();
    const m = this.member(g, userID);
    m.nickname = nickname;
    return this.notify(g, CT.memberInfoSet, userID, { group: this.tipsGroup(g), opUser: m, changedUser: m, groupSortVersion: g.version });
  }

  /**
   * 1511, deleteMember=false: the members stay, status 2, the version moves
   * although the tips carry none, and their group.status is the one before.
   */
  dismiss(groupID: string, by: string): OpenIMRecord {
    const g = this.group(groupID);
    this.tick();
    const before = this.tipsGroup(g);
    const op = this.member(g, by);
    g.info.status = 2;
    g.version++;
    this.notifications++;
    return notificationRecord({ groupID, contentType: CT.dismissed, sendID: by, sendTime: this.now, tips: { group: before, opUser: op, operationTime: 0 } });
  }

  /** deleteMember=true: members and the version document deleted, status 2, and NO notification. */
  dismissDeletingMembers(groupID: string): void {
    const g = this.group(groupID);
    this.tick();
    g.info.status = 2;
    g.members = [];
    g.version = 0;
    g.versionID = serverMsgID(`${groupID}:versions:recreated`).slice(0, 24);
  }

  /** A join whose notification OpenIM lost (a crash with it in the in-memory queue). */
  addSilently(groupID: string, userID: string): void {
    const g = this.group(groupID);
    const t = this.tick();
    this.add(g, this.newMember(groupID, userID, t, { roleLevel: ORDINARY, joinSource: 3, operator: userID, inviter: '' }));
    g.version++;
  }

  /** A leave whose notification OpenIM lost. */
  removeSilently(groupID: string, userID: string): void {
    const g = this.group(groupID);
    this.tick();
    this.remove(g, userID);
    g.version++;
  }

  /** The same record on the topic once more (a producer retry, a replay): same bytes, same serverMsgID. */
  again(record: OpenIMRecord): OpenIMRecord {
    this.notifications++;
    this.redelivered++;
    return record;
  }

  /** A text message in a group (key = groupID), or one-to-one (key = the two IDs sorted). */
  chat(from: string, where: { groupID: string } | { to: string }, text: string): OpenIMRecord {
    this.chats++;
    this.now += 1;
    return chatRecord({ from, ...where, text, sendTime: this.now });
  }

  private tick(): number {
    this.now += 1000;
    return this.now;
  }

  private notify(g: StandInGroup, contentType: number, sendID: string, tips: Record<string, unknown>): OpenIMRecord {
    if (contentType !== CT.created) g.version++;
    this.notifications++;
    return notificationRecord({
      groupID: g.info.groupID,
      contentType,
      sendID,
      sendTime: this.now,
      tips: { ...tips, ...goVersion(g.version, g.versionID) },
    });
  }

  /** The group as tips carry it: every field, memberCount the current count. */
  private tipsGroup(g: StandInGroup): Record<string, unknown> {
    return goGroupInfo({ ...g.info, memberCount: g.members.length });
  }

  private member(g: StandInGroup, userID: string): Member {
    const m = g.members.find((x) => x.userID === userID);
    if (!m) throw new Error(`${userID} is not a member of ${g.info.groupID}`);
    return m;
  }

  private add(g: StandInGroup, m: Member): Member {
    if (g.members.some((x) => x.userID === m.userID)) throw new Error(`${m.userID} is already a member of ${g.info.groupID}`);
    g.members.push(m);
    this.users.add(m.userID);
    return m;
  }

  private remove(g: StandInGroup, userID: string): Member {
    const m = this.member(g, userID);
    g.members = g.members.filter((x) => x !== m);
    return m;
  }

  /** A member with every field of GroupMemberFullInfo, as OpenIM's API and tips print it. */
  private newMember(groupID: string, userID: string, joinTime: number, o: { roleLevel: number; joinSource: number; operator: string; inviter: string }): Member {
    return {
      groupID,
      userID,
      roleLevel: o.roleLevel,
      joinTime,
      nickname: '',
      faceURL: '',
      appMangerLevel: 0,
      joinSource: o.joinSource,
      operatorUserID: o.operator,
      ex: '',
      muteEndTime: 0,
      inviterUserID: o.inviter,
    };
  }
}
