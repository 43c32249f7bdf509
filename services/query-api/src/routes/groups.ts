import type { Config } from '@imgroups/config';
import {
  CodeError,
  ErrCode,
  GetGroupMemberListReq,
  GetGroupMemberListResp,
  GetGroupsInfoReq,
  GetGroupsInfoResp,
  GetJoinedGroupListReq,
  GetJoinedGroupListResp,
  quickJoinedGroupListReq,
} from '@imgroups/contracts';
import type { ReadModel } from '@imgroups/read-model';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import {
  groupsInfoEnvelope,
  joinedGroupListBody,
  JSON_CONTENT_TYPE,
  memberListEnvelope,
} from '../envelope.js';
import { parseArgs } from '../errors.js';
import type { RouteDoc } from '../openapi.js';
import type { PageCache } from '../page-cache.js';
import type {} from '../request-state.js';

export interface GroupRoutesContext {
  config: Config;
  readModel: ReadModel;
  admins: ReadonlySet<string>;
  /** operationID + token checks (and the token status), before the body is read. */
  authenticate: onRequestHookHandler;
  /** Counts a failed Redis read; returns the error to rethrow (a 500). */
  redisFailure(err: unknown): unknown;
  /** Answered pages of get_joined_group_list (page-cache.ts). */
  pageCache: PageCache;
  /** The read model on the connection the page cache tracks (readModel when the cache is off). */
  pageReads: ReadModel;
}

/** Token routes answer these besides 0, before their own: headers, token, body. */
export const TOKEN_ERRORS = [
  ErrCode.Args,
  ErrCode.TokenExpired,
  ErrCode.TokenMalformed,
  ErrCode.TokenNotValidYet,
  ErrCode.TokenUnknown,
  ErrCode.TokenKicked,
  ErrCode.TokenNotExist,
  ErrCode.ServerInternal,
] as const;
export const TOKEN_HTTP_ERRORS = [413, 429, 503] as const;

export function requireSelfOrAdmin(ctx: GroupRoutesContext, caller: string, userID: string, field: string) {
  if (caller !== userID && !ctx.admins.has(caller)) {
    throw new CodeError(ErrCode.NoPermission, 'only the user or an admin may read this', { [field]: userID });
  }
}

/** The group reads (the sync routes are in sync.ts), each answered from one generation, the active one (read-model's Reader). */
export async function registerGroupRoutes(app: FastifyInstance, ctx: GroupRoutesContext): Promise<void> {
  const { config, readModel, pageReads, authenticate, pageCache } = ctx;
  // Schemas are built once; a request only runs them.
  const joinedListReq = GetJoinedGroupListReq(config.MAX_SHOW_NUMBER);
  const groupsInfoReq = GetGroupsInfoReq(config.MAX_GROUP_IDS);
  const memberListReq = GetGroupMemberListReq(config.MAX_SHOW_NUMBER);

  const joinedListDoc: RouteDoc = {
    summary: "A page of the groups a user has joined",
    description:
      'Join time ascending, ties by groupID; dismissed groups never appear. `total` is the whole count. ' +
      'The caller reads its own list, or any list with an admin token.',
    tags: ['groups'],
    headers: 'operationID+token',
    body: joinedListReq,
    data: GetJoinedGroupListResp,
    errCodes: [...TOKEN_ERRORS, ErrCode.NoPermission],
    httpErrors: TOKEN_HTTP_ERRORS,
  };
  app.post('/group/get_joined_group_list', { onRequest: authenticate, config: { openapi: joinedListDoc } }, async (request, reply) => {
    const { fromUserID, pagination } =
      quickJoinedGroupListReq(request.body, config.MAX_SHOW_NUMBER) ?? parseArgs(joinedListReq, request.body);
    request.fromUserID = fromUserID;
    requireSelfOrAdmin(ctx, request.userID, fromUserID, 'fromUserID');
    const { pageNumber, showNumber } = pagination;
    const offset = (pageNumber - 1) * showNumber;
    reply.header('content-type', JSON_CONTENT_TYPE);
    // IDs hold no ':' (contracts/ids.ts), so the key is unambiguous.
    const cacheKey = `${fromUserID}:${offset}:${showNumber}`;
    const cached = pageCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const ticket = pageCache.ticket();
    let page;
    try {
      // A read whose answer may be kept reads what it depends on so that Redis tracks it (PageCards.readFrom).
      page = await pageReads.readPageCards(fromUserID, offset, showNumber, { track: ticket !== undefined });
    } catch (err) {
      throw ctx.redisFailure(err);
    }
    const body = joinedGroupListBody(page.total, page.cards);
    if (page.readFrom !== undefined) pageCache.put(ticket, cacheKey, page.readFrom, body);
    return body;
  });

  const groupsInfoDoc: RouteDoc = {
    summary: 'Groups by ID',
    description:
      `Any caller with a valid token. At most MAX_GROUP_IDS (${config.MAX_GROUP_IDS}) IDs; repeated IDs answer once, ` +
      'in the order asked. Unknown groups are left out; a dismissed group answers with status 2 and memberCount 0.',
    tags: ['groups'],
    headers: 'operationID+token',
    body: groupsInfoReq,
    data: GetGroupsInfoResp,
    errCodes: TOKEN_ERRORS,
    httpErrors: TOKEN_HTTP_ERRORS,
  };
  app.post('/group/get_groups_info', { onRequest: authenticate, config: { openapi: groupsInfoDoc } }, async (request, reply) => {
    const { groupIDs } = parseArgs(groupsInfoReq, request.body);
    let info;
    try {
      info = await readModel.readGroupsInfo([...new Set(groupIDs)]);
    } catch (err) {
      throw ctx.redisFailure(err);
    }
    reply.header('content-type', JSON_CONTENT_TYPE);
    return groupsInfoEnvelope(info.groupsJson);
  });

  const memberListDoc: RouteDoc = {
    summary: "A page of a group's members",
    description:
      'Join time ascending, ties by userID; `total` is the member count. The caller must be a member or an admin: ' +
      'anyone else gets 1002, whether the group exists or not. For an admin, an unknown group is 1201 and a ' +
      'dismissed one 1204.',
    tags: ['groups'],
    headers: 'operationID+token',
    body: memberListReq,
    data: GetGroupMemberListResp,
    errCodes: [...TOKEN_ERRORS, ErrCode.NoPermission, ErrCode.GroupIDNotFound, ErrCode.DismissedAlready],
    httpErrors: TOKEN_HTTP_ERRORS,
  };
  app.post('/group/get_group_member_list', { onRequest: authenticate, config: { openapi: memberListDoc } }, async (request, reply) => {
    const { groupID, pagination } = parseArgs(memberListReq, request.body);
    request.groupID = groupID;
    const { pageNumber, showNumber } = pagination;
    let page;
    try {
      page = await readModel.readMemberPage(
        groupID,
        { userID: request.userID, isAdmin: ctx.admins.has(request.userID) },
        (pageNumber - 1) * showNumber,
        showNumber,
      );
    } catch (err) {
      throw ctx.redisFailure(err);
    }
    switch (page.outcome) {
      case 'no_permission':
        throw new CodeError(ErrCode.NoPermission, 'only a member of the group or an admin may list its members', { groupID });
      case 'not_found':
        throw new CodeError(ErrCode.GroupIDNotFound, 'group not found', { groupID });
      case 'dismissed':
        throw new CodeError(ErrCode.DismissedAlready, 'group was dismissed', { groupID });
      case 'ok':
        break;
    }
    reply.header('content-type', JSON_CONTENT_TYPE);
    return memberListEnvelope(page.total, page.membersJson);
  });
}
