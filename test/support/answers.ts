import { GROUP_INFO_FIELDS } from '@imgroups/contracts';
import type { StandInGroup } from '@imgroups/openim-bridge/testing';
import { openImToken, uniqueId } from '@imgroups/testing';

/**
 * The query API's answers against a truth (OpenIM's state, as the stand-in
 * of its API holds it), over HTTP as a client asks: every user's joined
 * groups paged as the SDK pages them and their full ID list, every group's
 * info and member pages. Differences are listed, not thrown, so a test can
 * wait for none and say which remain when it gives up.
 */

export interface Truth {
  groups: readonly StandInGroup[];
  users: Iterable<string>;
}

interface Envelope {
  errCode: number;
  errMsg: string;
  errDlt: string;
  data?: Record<string, unknown>;
}

/** Small pages, so paging is exercised: the SDK's loop, until a page comes back short. */
const JOINED_PAGE = 2;
const MEMBER_PAGE = 20;
const PARALLEL = 8;

export class QueryApiClient {
  private readonly adminToken: string;
  constructor(
    readonly base: string,
    private readonly secret: string,
    adminUserID = 'imAdmin',
  ) {
    this.adminToken = openImToken(secret, adminUserID);
  }

  /** POST as `asUser` (their own token), or as the admin. */
  async call(path: string, body: unknown, asUser?: string): Promise<Envelope> {
    const res = await fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        operationID: uniqueId('op'),
        token: asUser === undefined ? this.adminToken : openImToken(this.secret, asUser),
      },
      body: JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
    return (await res.json()) as Envelope;
  }

  /** Every page of the user's joined groups, asked with the user's own token. */
  async joinedGroups(userID: string): Promise<{ totals: number[]; groups: Record<string, unknown>[]; errCode: number }> {
    const totals: number[] = [];
    const groups: Record<string, unknown>[] = [];
    for (let pageNumber = 1; pageNumber <= 100; pageNumber++) {
      const r = await this.call('/group/get_joined_group_list', { fromUserID: userID, pagination: { pageNumber, showNumber: JOINED_PAGE } }, userID);
      if (r.errCode !== 0) return { totals, groups, errCode: r.errCode };
      const page = r.data as { total: number; groups: Record<string, unknown>[] };
      totals.push(page.total);
      groups.push(...page.groups);
      if (page.groups.length < JOINED_PAGE) break;
    }
    return { totals, groups, errCode: 0 };
  }
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const live = (g: StandInGroup) => g.info.status !== 2;
const show = (v: unknown) => JSON.stringify(v);

/** The group as get_groups_info should answer it: a dismissed group with status 2 and no members. */
function expectedInfo(g: StandInGroup): Record<string, unknown> {
  return live(g) ? { ...g.info, memberCount: g.members.length } : { groupID: g.info.groupID, status: 2, memberCount: 0 };
}

/** The user's groups in the contract's order: join time, then groupID. Dismissed groups never appear. */
export function expectedJoined(truth: Truth, userID: string): string[] {
  return truth.groups
    .filter(live)
    .flatMap((g) => g.members.filter((m) => m.userID === userID).map((m) => ({ id: g.info.groupID, at: m.joinTime })))
    .sort((a, b) => a.at - b.at || byString(a.id, b.id))
    .map((x) => x.id);
}

/** Members in the member list's order: join time, then userID. */
function expectedMembers(g: StandInGroup): string[] {
  return [...g.members].sort((a, b) => a.joinTime - b.joinTime || byString(a.userID, b.userID)).map((m) => `${m.userID}:${m.roleLevel}:${m.joinTime}`);
}

function infoDifferences(where: string, card: Record<string, unknown> | undefined, g: StandInGroup): string[] {
  if (!card) return [`${where}: group ${g.info.groupID} missing`];
  const want = expectedInfo(g);
  const fields = live(g) ? GROUP_INFO_FIELDS : (Object.keys(want) as (keyof typeof want)[]);
  return fields.filter((f) => card[f] !== want[f]).map((f) => `${where}: ${g.info.groupID}.${f} = ${show(card[f])}, truth ${show(want[f])}`);
}

async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<string[]>): Promise<string[]> {
  const out: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, items.length) }, async () => {
      while (next < items.length) out.push(...(await fn(items[next++]!)));
    }),
  );
  return out;
}

/** Every difference between the API's answers and the truth, one line each; none when they agree. */
export async function differences(api: QueryApiClient, truth: Truth): Promise<string[]> {
  const byID = new Map(truth.groups.map((g) => [g.info.groupID, g]));
  const users = await inParallel([...truth.users], async (userID) => {
    const out: string[] = [];
    const want = expectedJoined(truth, userID);
    const got = await api.joinedGroups(userID);
    if (got.errCode !== 0) return [`${userID}: get_joined_group_list errCode ${got.errCode}`];
    const ids = got.groups.map((g) => String(g.groupID));
    if (show(ids) !== show(want)) out.push(`${userID}: joined ${show(ids)}, truth ${show(want)}`);
    if (got.totals.some((t) => t !== want.length)) out.push(`${userID}: joined totals ${show(got.totals)}, truth ${want.length}`);
    for (const card of got.groups) {
      const g = byID.get(String(card.groupID));
      if (g && live(g)) out.push(...infoDifferences(`${userID}'s list`, card, g));
    }
    const full = await api.call('/group/get_full_join_group_ids', { userID }, userID);
    const fullIDs = (full.data as { groupIDs?: string[] } | undefined)?.groupIDs;
    if (full.errCode !== 0 || show(fullIDs) !== show(want)) out.push(`${userID}: full join IDs errCode ${full.errCode} ${show(fullIDs)}, truth ${show(want)}`);
    return out;
  });

  const info = await api.call('/group/get_groups_info', { groupIDs: [...byID.keys()] });
  const cards = new Map(((info.data?.groupInfos as Record<string, unknown>[] | undefined) ?? []).map((c) => [String(c.groupID), c]));
  const infos = info.errCode !== 0 ? [`get_groups_info errCode ${info.errCode}`] : truth.groups.flatMap((g) => infoDifferences('groups info', cards.get(g.info.groupID), g));

  const members = await inParallel(truth.groups, async (g) => {
    const groupID = g.info.groupID;
    const got: string[] = [];
    const totals: number[] = [];
    for (let pageNumber = 1; pageNumber <= 100; pageNumber++) {
      const r = await api.call('/group/get_group_member_list', { groupID, pagination: { pageNumber, showNumber: MEMBER_PAGE } });
      if (!live(g)) return r.errCode === 1204 ? [] : [`${groupID}: member list errCode ${r.errCode}, truth 1204 (dismissed)`];
      if (r.errCode !== 0) return [`${groupID}: member list errCode ${r.errCode}`];
      const page = r.data as { total: number; members: { userID: string; roleLevel: number; joinTime: number }[] };
      totals.push(page.total);
      got.push(...page.members.map((m) => `${m.userID}:${m.roleLevel}:${m.joinTime}`));
      if (page.members.length < MEMBER_PAGE) break;
    }
    const want = expectedMembers(g);
    const out: string[] = [];
    const missing = want.filter((m) => !got.includes(m));
    const extra = got.filter((m) => !want.includes(m));
    if (missing.length || extra.length) out.push(`${groupID}: members missing ${show(missing)}, extra ${show(extra)}`);
    else if (show(got) !== show(want)) out.push(`${groupID}: members in order ${show(got)}, truth ${show(want)}`);
    if (totals.some((t) => t !== want.length)) out.push(`${groupID}: member totals ${show(totals)}, truth ${want.length}`);
    return out;
  });
  return [...users, ...infos, ...members];
}
