import { randomUUID } from 'node:crypto';
import type { OpenIMGroupInfo, OpenIMMember } from './members.js';

/**
 * OpenIM's HTTP API (OPENIM.md §3), the routes the 1501 backfill and the
 * reconciliation read: every call POST with JSON, headers `operationID` and
 * `token`, answer `{errCode, errMsg, errDlt, data}`. The admin token comes
 * from /auth/get_admin_token (OPENIM_SECRET, the first ADMIN_USER_IDS) and is
 * reused until shortly before it expires.
 */

export type ApiFailure = 'unavailable' | 'not_found' | 'refused';

export class OpenIMApiError extends Error {
  override readonly name = 'OpenIMApiError';
  constructor(
    readonly kind: ApiFailure,
    readonly route: string,
    message: string,
    readonly errCode?: number,
    options?: { cause?: unknown },
  ) {
    super(`${route}: ${message}`, options);
  }
}

/** Upstream's codes: 1004 RecordNotFound, 1201 GroupIDNotFound; 1501-1507 token errors. */
const NOT_FOUND = new Set([1004, 1201]);
const TOKEN_ERRORS = new Set([1501, 1502, 1503, 1504, 1505, 1506, 1507]);

export interface FullMemberIDs {
  /** The group's member version from patch.14 on; a hash of the IDs up to patch.2 (backfill.ts decides). */
  version: number;
  versionID: string;
  userIDs: string[];
}

export interface OpenIMApiOptions {
  baseUrl: string;
  secret: string;
  adminUserID: string;
  timeoutMs: number;
  /** Called before each HTTP call, with the route (metrics). */
  onCall?: (route: string) => void;
  fetch?: typeof fetch;
  now?: () => number;
}

export class OpenIMApi {
  private token: { value: string; refreshAt: number } | undefined;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly opts: OpenIMApiOptions) {
    this.fetch = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  private async post(route: string, body: unknown, token: string | undefined): Promise<{ errCode: number; errMsg: string; errDlt: string; data?: unknown }> {
    this.opts.onCall?.(route);
    let res: Response;
    try {
      res = await this.fetch(`${this.opts.baseUrl}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', operationID: `imgroups-bridge-${randomUUID()}`, ...(token ? { token } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      throw new OpenIMApiError('unavailable', route, (err as Error).message, undefined, { cause: err });
    }
    if (res.status !== 200) {
      throw new OpenIMApiError('unavailable', route, `HTTP ${res.status}`);
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (err) {
      throw new OpenIMApiError('unavailable', route, `answer is not JSON: ${(err as Error).message}`);
    }
    const env = json as { errCode?: unknown; errMsg?: unknown; errDlt?: unknown; data?: unknown };
    if (typeof env !== 'object' || env === null || typeof env.errCode !== 'number') {
      throw new OpenIMApiError('unavailable', route, 'answer is not the {errCode, errMsg, errDlt, data} envelope');
    }
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    return { errCode: env.errCode, errMsg: text(env.errMsg), errDlt: text(env.errDlt), data: env.data };
  }

  private async adminToken(): Promise<string> {
    if (this.token && this.now() < this.token.refreshAt) return this.token.value;
    const route = '/auth/get_admin_token';
    const env = await this.post(route, { secret: this.opts.secret, userID: this.opts.adminUserID }, undefined);
    if (env.errCode !== 0) {
      // A wrong secret or a userID that is not an IM admin: an operator must fix it; retried meanwhile.
      throw new OpenIMApiError('refused', route, `errCode ${env.errCode} ${env.errMsg} ${env.errDlt}`.trim(), env.errCode);
    }
    const data = env.data as { token?: unknown; expireTimeSeconds?: unknown } | undefined;
    if (typeof data?.token !== 'string' || data.token === '') throw new OpenIMApiError('unavailable', route, 'no token in the answer');
    const lifetimeMs = typeof data.expireTimeSeconds === 'number' && data.expireTimeSeconds > 0 ? data.expireTimeSeconds * 1000 : 3_600_000;
    // Refresh before expiry: 10% of the lifetime early, at least a minute, never in the past.
    const margin = Math.min(Math.max(lifetimeMs * 0.1, 60_000), lifetimeMs / 2);
    this.token = { value: data.token, refreshAt: this.now() + lifetimeMs - margin };
    return data.token;
  }

  /** An authenticated call; a token error drops the cached token and tries once more with a fresh one. */
  async call<T>(route: string, body: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const env = await this.post(route, body, await this.adminToken());
      if (env.errCode === 0) return (env.data ?? {}) as T;
      if (TOKEN_ERRORS.has(env.errCode) && attempt === 1) {
        this.token = undefined;
        continue;
      }
      const kind: ApiFailure = NOT_FOUND.has(env.errCode) ? 'not_found' : env.errCode >= 500 && env.errCode < 600 ? 'unavailable' : 'refused';
      throw new OpenIMApiError(kind, route, `errCode ${env.errCode} ${env.errMsg} ${env.errDlt}`.trim(), env.errCode);
    }
  }

  async getGroupMemberPage(groupID: string, pageNumber: number, showNumber: number): Promise<{ total: number; members: OpenIMMember[] }> {
    const data = await this.call<{ total?: number; members?: OpenIMMember[] | null }>('/group/get_group_member_list', {
      groupID,
      pagination: { pageNumber, showNumber },
    });
    return { total: data.total ?? 0, members: data.members ?? [] };
  }

  /** Every member, paged as the SDK pages: until a page comes back short (upstream's `total` is not trusted). */
  async getAllMembers(groupID: string, showNumber = 500): Promise<OpenIMMember[]> {
    const out: OpenIMMember[] = [];
    for (let page = 1; ; page++) {
      const { members } = await this.getGroupMemberPage(groupID, page, showNumber);
      out.push(...members);
      if (members.length < showNumber) return out;
    }
  }

  async getFullGroupMemberUserIDs(groupID: string): Promise<FullMemberIDs> {
    const data = await this.call<{ version?: number; versionID?: string; userIDs?: string[] | null }>(
      '/group/get_full_group_member_user_ids',
      { groupID },
    );
    return { version: data.version ?? 0, versionID: data.versionID ?? '', userIDs: data.userIDs ?? [] };
  }

  /** Groups by ID; a deleted group is absent from the answer. */
  async getGroupsInfo(groupIDs: string[]): Promise<OpenIMGroupInfo[]> {
    const data = await this.call<{ groupInfos?: OpenIMGroupInfo[] | null }>('/group/get_groups_info', { groupIDs });
    return data.groupInfos ?? [];
  }
}
