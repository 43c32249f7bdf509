import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpenIMGroupInfo, OpenIMMember } from '../members.js';

/**
 * Test-only stand-in for OpenIM's HTTP API: exactly the routes and envelope
 * of OPENIM.md §3, over real HTTP, with state the test sets. OpenIM itself
 * cannot run here. Not shipped (tsconfig excludes src/testing).
 */

export interface StandInGroup {
  info: OpenIMGroupInfo & { memberCount?: number };
  members: (OpenIMMember & Record<string, unknown>)[];
  version: number;
  versionID: string;
}

export interface OpenIMApiStandIn {
  readonly url: string;
  readonly groups: Map<string, StandInGroup>;
  /** Route -> calls seen. */
  readonly calls: Map<string, number>;
  /** While true every call fails as a down API does (connection reset). */
  down: boolean;
  /** Tokens issued so far; a test may revoke them to see the client fetch a new one. */
  readonly tokens: Set<string>;
  tokenLifetimeSeconds: number;
  close(): Promise<void>;
}

export async function startOpenIMApiStandIn(opts: { secret: string; adminUserIDs: string[] }): Promise<OpenIMApiStandIn> {
  const groups = new Map<string, StandInGroup>();
  const calls = new Map<string, number>();
  const tokens = new Set<string>();
  const state = { down: false, tokenLifetimeSeconds: 86_400 };

  const reply = (res: ServerResponse, errCode: number, errMsg = '', data?: unknown) =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ errCode, errMsg, errDlt: errMsg, ...(errCode === 0 ? { data } : {}) }));

  const handle = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => {
    const route = (req.url ?? '').split('?')[0]!;
    calls.set(route, (calls.get(route) ?? 0) + 1);
    if (req.method !== 'POST') return res.writeHead(404).end();
    if (!req.headers.operationid) return reply(res, 1001, 'header must have operationID');
    if (route === '/auth/get_admin_token') {
      if (body.secret !== opts.secret) return reply(res, 1002, 'NoPermissionError');
      if (!opts.adminUserIDs.includes(String(body.userID))) return reply(res, 1001, 'ArgsError');
      const token = randomBytes(12).toString('hex');
      tokens.add(token);
      return reply(res, 0, '', { token, expireTimeSeconds: state.tokenLifetimeSeconds });
    }
    const token = req.headers.token;
    if (!token) return reply(res, 1001, 'header must have token');
    if (typeof token !== 'string' || !tokens.has(token)) return reply(res, 1507, 'TokenNotExistError');
    const group = () => groups.get(String(body.groupID));
    switch (route) {
      case '/group/get_group_member_list': {
        const g = group();
        if (!g) return reply(res, 1201, 'GroupIDNotFound');
        const p = body.pagination as { pageNumber?: number; showNumber?: number } | undefined;
        if (!p || !p.pageNumber || p.pageNumber < 1) return reply(res, 1001, 'ArgsError');
        const show = p.showNumber ?? 0;
        const start = (p.pageNumber - 1) * show;
        return reply(res, 0, '', { total: g.members.length, members: g.members.slice(start, start + show) });
      }
      case '/group/get_full_group_member_user_ids': {
        const g = group();
        if (!g) return reply(res, 1201, 'GroupIDNotFound');
        return reply(res, 0, '', { version: g.version, versionID: g.versionID, equal: false, userIDs: g.members.map((m) => m.userID) });
      }
      case '/group/get_groups_info': {
        const ids = Array.isArray(body.groupIDs) ? (body.groupIDs as string[]) : [];
        const infos = ids.flatMap((id) => {
          const g = groups.get(id);
          return g ? [{ ...g.info, memberCount: g.members.length }] : [];
        });
        return reply(res, 0, '', { groupInfos: infos });
      }
      default:
        return res.writeHead(404).end();
    }
  };

  const server = createServer((req, res) => {
    if (state.down) {
      req.socket.destroy();
      return;
    }
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        return reply(res, 1001, 'ArgsError');
      }
      handle(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    groups,
    calls,
    tokens,
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
    },
    get tokenLifetimeSeconds() {
      return state.tokenLifetimeSeconds;
    },
    set tokenLifetimeSeconds(v: number) {
      state.tokenLifetimeSeconds = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A stand-in group with `n` members: an owner and n-1 ordinary members, as OpenIM's API lists them. */
export function standInGroup(groupID: string, n: number, opts: { version?: number; createTime?: number; ownerUserID?: string } = {}): StandInGroup {
  const createTime = opts.createTime ?? 1_700_000_000_000;
  const owner = opts.ownerUserID ?? `${groupID}-owner`;
  const members = Array.from({ length: n }, (_, i) => ({
    groupID,
    userID: i === 0 ? owner : `${groupID}-m${i}`,
    roleLevel: i === 0 ? 100 : 20,
    joinTime: createTime,
    nickname: '',
    faceURL: '',
    appMangerLevel: 0,
    joinSource: i === 0 ? 0 : 2,
    operatorUserID: owner,
    ex: '',
    muteEndTime: 0,
    inviterUserID: i === 0 ? '' : owner,
  }));
  return {
    info: standInGroupInfo({ groupID, groupName: `group ${groupID}`, ownerUserID: owner, creatorUserID: owner, createTime }),
    members,
    version: opts.version ?? n,
    versionID: '6650a1b2c3d4e5f601234567',
  };
}

/** A new group's GroupInfo as OpenIM's API answers it: these fields, the rest at their defaults. */
export function standInGroupInfo(g: { groupID: string; groupName: string; ownerUserID: string; creatorUserID: string; createTime: number }) {
  return {
    ...g,
    notification: '',
    introduction: '',
    faceURL: '',
    ex: '',
    status: 0,
    groupType: 2,
    needVerification: 0,
    lookMemberInfo: 0,
    applyMemberFriend: 0,
    notificationUpdateTime: 0,
    notificationUserID: '',
  };
}
