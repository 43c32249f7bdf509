/**
 * A client of the group sync written from the OpenIM SDK's algorithm
 * (openim-sdk-core v3.8.3, OPENIM.md §1), for the SDK-flow property test:
 * what a real client stores and which routes it calls, in their order.
 *
 * Local state per user: the join log's versionID and version, the joined
 * groups' GroupInfo, and per group the member log's versionID and version
 * with the members' GroupMemberFullInfo. A sync is
 *   1. get_incremental_join_groups; when told `full`: wipe the groups, page
 *      get_joined_group_list (showNumber 100, from page 1 until a short page,
 *      at most 1,000 groups, `total` ignored), then get_full_join_group_ids
 *      for the version; else apply delete / insert / update.
 *   2. get_incremental_group_members_batch for every local group, asking
 *      again for the groups an answer left out once it held more than 500
 *      changes; a group answered `full` is read with paged
 *      get_group_member_list and get_full_group_member_user_ids; else its
 *      delete / insert / update are applied and a non-null `group` replaces
 *      the local GroupInfo. Member state of groups no longer local goes.
 *
 * One step beyond the SDK: a full member answer's `group` is taken as the
 * group's GroupInfo (the SDK ignores `group` on a full answer). Without it a
 * client whose member log overflowed would keep the GroupInfo it had,
 * memberCount and all, until the group's next change; the property test
 * found that (see sdk-sync.rel.spec.ts), so this service sends the group
 * with every full member answer (docs/http-api.md "Group sync").
 */

/** One POST as the client's user: the envelope's `data`, or a thrown error for any errCode but 0. */
export type Post = (route: string, body: Record<string, unknown>) => Promise<any>;

export type GroupInfo = Record<string, unknown> & { groupID: string };
export type MemberInfo = Record<string, unknown> & { groupID: string; userID: string; roleLevel: number };

export interface MemberState {
  versionID: string;
  version: number;
  members: Map<string, MemberInfo>;
}

/** The page size the SDK reads full lists with, and the most groups it reads. */
export const SHOW_NUMBER = 100;
export const MAX_FULL_GROUPS = 1000;
/** The batch route stops adding groups once its answers hold more changes than this. */
export const BATCH_BOUND = 500;

/** What one sync did, for the test to hold against the rules. */
export interface SyncReport {
  /** The join answer was `full`. */
  joinFull: boolean;
  /** Groups asked in the member batch, with whether the client had member state for each. */
  asked: Map<string, { known: boolean }>;
  /** Groups whose member answer was `full`. */
  memberFull: string[];
  /** Answers that were not full and changed something (join level and member level). */
  incremental: number;
  /** Batch answers cut short by the bound (the client asked again for the rest). */
  bounded: number;
  /** Groups the batch left out for another reason (dismissed, unknown, not a member). */
  leftOut: string[];
  /** Inconsistencies between the answers of one sync (full IDs against the pages read). */
  problems: string[];
}

export class SdkClient {
  versionID = '';
  version = 0;
  readonly groups = new Map<string, GroupInfo>();
  readonly members = new Map<string, MemberState>();

  constructor(
    readonly userID: string,
    private readonly post: Post,
  ) {}

  async sync(): Promise<SyncReport> {
    const report: SyncReport = { joinFull: false, asked: new Map(), memberFull: [], incremental: 0, bounded: 0, leftOut: [], problems: [] };
    await this.syncJoins(report);
    for (const groupID of [...this.members.keys()]) if (!this.groups.has(groupID)) this.members.delete(groupID);
    await this.syncMembers(report);
    return report;
  }

  private async syncJoins(report: SyncReport): Promise<void> {
    const d = await this.post('/group/get_incremental_join_groups', {
      userID: this.userID,
      versionID: this.versionID,
      version: this.version,
    });
    if (!d.full) {
      if (d.delete.length + d.insert.length + d.update.length > 0) report.incremental++;
      for (const groupID of d.delete as string[]) this.groups.delete(groupID);
      for (const g of [...(d.insert as GroupInfo[]), ...(d.update as GroupInfo[])]) this.groups.set(g.groupID, g);
      this.versionID = d.versionID;
      this.version = d.version;
      return;
    }
    report.joinFull = true;
    this.groups.clear();
    for (let page = 1; page * SHOW_NUMBER <= MAX_FULL_GROUPS; page++) {
      const p = await this.post('/group/get_joined_group_list', {
        fromUserID: this.userID,
        pagination: { pageNumber: page, showNumber: SHOW_NUMBER },
      });
      for (const g of p.groups as GroupInfo[]) this.groups.set(g.groupID, g);
      if (p.groups.length < SHOW_NUMBER) break;
    }
    const ids = await this.post('/group/get_full_join_group_ids', { userID: this.userID });
    this.versionID = ids.versionID;
    this.version = ids.version;
    if (!sameSet(ids.groupIDs, this.groups.keys())) {
      report.problems.push(`${this.userID}: get_full_join_group_ids ${fmt(ids.groupIDs)} != pages ${fmt(this.groups.keys())}`);
    }
  }

  private async syncMembers(report: SyncReport): Promise<void> {
    let pending = [...this.groups.keys()];
    for (const groupID of pending) report.asked.set(groupID, { known: this.members.has(groupID) });
    while (pending.length > 0) {
      const reqList = pending.map((groupID) => {
        const m = this.members.get(groupID);
        return { groupID, versionID: m?.versionID ?? '', version: m?.version ?? 0 };
      });
      const d = await this.post('/group/get_incremental_group_members_batch', { userID: this.userID, reqList });
      const answers = Object.entries(d.respList as Record<string, any>);
      let changes = 0;
      for (const [groupID, a] of answers) {
        changes += a.delete.length + a.insert.length + a.update.length;
        if (a.full) {
          report.memberFull.push(groupID);
          await this.readMembers(groupID, report);
          if (a.group === null) report.problems.push(`${this.userID}: a full member answer for ${groupID} without its group`);
          else if (this.groups.has(groupID)) this.groups.set(groupID, a.group as GroupInfo);
        } else {
          if (a.delete.length + a.insert.length + a.update.length > 0 || a.group !== null) report.incremental++;
          this.applyMembers(groupID, a);
        }
      }
      const rest = pending.filter((groupID) => !(groupID in d.respList));
      if (rest.length > 0 && answers.length > 0 && changes > BATCH_BOUND) {
        report.bounded++;
        pending = rest;
        continue;
      }
      report.leftOut.push(...rest);
      break;
    }
  }

  private applyMembers(groupID: string, a: any): void {
    const state = this.members.get(groupID) ?? { versionID: '', version: 0, members: new Map<string, MemberInfo>() };
    for (const userID of a.delete as string[]) state.members.delete(userID);
    for (const m of [...(a.insert as MemberInfo[]), ...(a.update as MemberInfo[])]) state.members.set(m.userID, m);
    state.versionID = a.versionID;
    state.version = a.version;
    this.members.set(groupID, state);
    if (a.group !== null) this.groups.set(groupID, a.group as GroupInfo);
  }

  private async readMembers(groupID: string, report: SyncReport): Promise<void> {
    const members = new Map<string, MemberInfo>();
    for (let page = 1; ; page++) {
      const p = await this.post('/group/get_group_member_list', { groupID, pagination: { pageNumber: page, showNumber: SHOW_NUMBER } });
      for (const m of p.members as MemberInfo[]) members.set(m.userID, m);
      if (p.members.length < SHOW_NUMBER) break;
    }
    const ids = await this.post('/group/get_full_group_member_user_ids', { groupID });
    this.members.set(groupID, { versionID: ids.versionID, version: ids.version, members });
    if (!sameSet(ids.userIDs, members.keys())) {
      report.problems.push(`${this.userID}: get_full_group_member_user_ids(${groupID}) ${fmt(ids.userIDs)} != pages ${fmt(members.keys())}`);
    }
  }
}

function sameSet(a: Iterable<string>, b: Iterable<string>): boolean {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
}

const fmt = (ids: Iterable<string>) => `[${[...ids].sort().join(',')}]`;
