import {
  CodeError,
  ErrCode,
  GetFullGroupMemberUserIDsReq,
  GetFullGroupMemberUserIDsResp,
  GetFullJoinGroupIDsReq,
  GetFullJoinGroupIDsResp,
  GetIncrementalGroupMembersBatchReq,
  GetIncrementalGroupMembersBatchResp,
  GetIncrementalGroupMembersReq,
  GetIncrementalGroupMembersResp,
  GetIncrementalJoinGroupsReq,
  GetIncrementalJoinGroupsResp,
} from '@imgroups/contracts';
import type { ClientVersion, MemberPageOutcome, MemberSync } from '@imgroups/read-model';
import type { FastifyInstance } from 'fastify';
import { dataEnvelope, incrementalJson, JSON_CONTENT_TYPE, okEnvelope } from '../envelope.js';
import { parseArgs } from '../errors.js';
import { idHash } from '../id-hash.js';
import { withExactTopLevelIntegers } from '../json.js';
import type { RouteDoc } from '../openapi.js';
import { requireSelfOrAdmin, TOKEN_ERRORS, TOKEN_HTTP_ERRORS, type GroupRoutesContext } from './groups.js';

/**
 * The OpenIM SDK's group sync (docs/http-api.md "Group sync"): the full-ID
 * routes and the incremental ones, answered from the version logs the
 * projector writes beside the projection (lua/lib/log.lua).
 */

/** Upstream stops adding groups to a batch answer after about this many changes; so do we. */
export const MAX_BATCH_CHANGES = 500;

const FULL_RULE =
  '`full` is true, and nothing else is given, when `versionID` is not the current one (empty, unknown, or from before ' +
  'a rebuild), `version` is 0 or ahead of the log, or the log (SYNC_LOG_MAX entries) no longer holds every change after it: ' +
  'the client then reads the whole list.';

/** A version beyond 2^53 is past any log's: passed on as it is, so the log answers `full`. */
const clientVersion = (r: { versionID: string; version: bigint }): ClientVersion => ({
  versionID: r.versionID,
  version: r.version > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(r.version),
});

function memberOutcomeError(outcome: Exclude<MemberPageOutcome, 'ok'>, groupID: string): CodeError {
  switch (outcome) {
    case 'no_permission':
      return new CodeError(ErrCode.NoPermission, 'only a member of the group or an admin may read its members', { groupID });
    case 'not_found':
      return new CodeError(ErrCode.GroupIDNotFound, 'group not found', { groupID });
    case 'dismissed':
      return new CodeError(ErrCode.DismissedAlready, 'group was dismissed', { groupID });
  }
}

const memberJson = (m: MemberSync) =>
  incrementalJson({
    version: m.version,
    versionID: m.versionID,
    full: m.full,
    deleted: m.deleted,
    insertedJson: m.insertedJson,
    updatedJson: m.updatedJson,
    group: m.groupJson,
    sortVersion: m.sortVersion,
  });

const MEMBER_ERRORS = [...TOKEN_ERRORS, ErrCode.NoPermission, ErrCode.GroupIDNotFound, ErrCode.DismissedAlready];

export async function registerSyncRoutes(app: FastifyInstance, ctx: GroupRoutesContext): Promise<void> {
  const { config, readModel, authenticate } = ctx;
  const batchReq = GetIncrementalGroupMembersBatchReq(config.MAX_GROUP_IDS);
  const read = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw ctx.redisFailure(err);
    }
  };
  const isAdmin = (userID: string) => ctx.admins.has(userID);

  // Versions and idHash are uint64: past 2^53 JSON.parse would round them, so
  // these routes' JSON parser recovers top-level integers exactly (json.ts).
  // (reqList's versions are nested: one past 2^53 there reads as ahead of the log, which it is.)
  await app.register(async (scope) => {
    const parseJson = scope.getDefaultJsonParser('error', 'error');
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      void parseJson(request, body as string, (err, value) => {
        if (err) return done(err, undefined);
        done(null, withExactTopLevelIntegers(body as string, value));
      });
    });

    const fullIdsDoc: RouteDoc = {
      summary: "All of a user's group IDs, unless the client already has them",
      description:
        '`idHash` is upstream\'s IdHash of the list: the first 8 bytes of md5 over the JSON-encoded (Go encoding/json) ' +
        'ID list in list order (join time, then groupID), read as a big-endian uint64; 0 for no groups. When the ' +
        'client sends the current hash, `equal` is true and `groupIDs` is []. `version` and `versionID` are the ' +
        "user's join log's (upstream answers the idHash as `version`): the SDK stores them after a full sync and " +
        'starts its next get_incremental_join_groups from them. Self or admin only.',
      tags: ['sync'],
      headers: 'operationID+token',
      body: GetFullJoinGroupIDsReq,
      data: GetFullJoinGroupIDsResp,
      errCodes: [...TOKEN_ERRORS, ErrCode.NoPermission],
      httpErrors: TOKEN_HTTP_ERRORS,
    };
    scope.post('/group/get_full_join_group_ids', { onRequest: authenticate, config: { openapi: fullIdsDoc } }, async (request, reply) => {
      const { userID, idHash: clientHash = 0n } = parseArgs(GetFullJoinGroupIDsReq, request.body);
      request.fromUserID = userID;
      requireSelfOrAdmin(ctx, request.userID, userID, 'userID');
      const joined = await read(() => readModel.readJoinedGroupIDs(userID));
      const equal = idHash(joined.groupIDs) === clientHash;
      reply.header('content-type', JSON_CONTENT_TYPE);
      return okEnvelope({ version: joined.version, versionID: joined.versionID, equal, groupIDs: equal ? [] : joined.groupIDs });
    });

    const memberIdsDoc: RouteDoc = {
      summary: "All of a group's member IDs, unless the client already has them",
      description:
        'Member IDs in join-time order (ties by userID), `idHash` as for get_full_join_group_ids; `version` and ' +
        "`versionID` are the group's member log's (the start of the next get_incremental_group_members). A member " +
        'of the group or an admin; 1201 unknown group, 1204 dismissed.',
      tags: ['sync'],
      headers: 'operationID+token',
      body: GetFullGroupMemberUserIDsReq,
      data: GetFullGroupMemberUserIDsResp,
      errCodes: MEMBER_ERRORS,
      httpErrors: TOKEN_HTTP_ERRORS,
    };
    scope.post(
      '/group/get_full_group_member_user_ids',
      { onRequest: authenticate, config: { openapi: memberIdsDoc } },
      async (request, reply) => {
        const { groupID, idHash: clientHash = 0n } = parseArgs(GetFullGroupMemberUserIDsReq, request.body);
        request.groupID = groupID;
        const ids = await read(() => readModel.sync.readMemberIDs(groupID, { userID: request.userID, isAdmin: isAdmin(request.userID) }));
        if (ids.outcome !== 'ok') throw memberOutcomeError(ids.outcome, groupID);
        const equal = idHash(ids.userIDs) === clientHash;
        reply.header('content-type', JSON_CONTENT_TYPE);
        return okEnvelope({ version: ids.version, versionID: ids.versionID, equal, userIDs: equal ? [] : ids.userIDs });
      },
    );

    const joinsDoc: RouteDoc = {
      summary: 'The groups a user joined and left since the version its client holds',
      description:
        `${FULL_RULE} Else \`delete\` holds the groups left since, \`insert\` the GroupInfo of those joined since; ` +
        "`update` is always [] and `sortVersion` 0, as upstream (a group's own changes reach the client through " +
        'the member sync\'s `group`). Self or admin only.',
      tags: ['sync'],
      headers: 'operationID+token',
      body: GetIncrementalJoinGroupsReq,
      data: GetIncrementalJoinGroupsResp,
      errCodes: [...TOKEN_ERRORS, ErrCode.NoPermission],
      httpErrors: TOKEN_HTTP_ERRORS,
    };
    scope.post('/group/get_incremental_join_groups', { onRequest: authenticate, config: { openapi: joinsDoc } }, async (request, reply) => {
      const req = parseArgs(GetIncrementalJoinGroupsReq, request.body);
      request.fromUserID = req.userID;
      requireSelfOrAdmin(ctx, request.userID, req.userID, 'userID');
      const s = await read(() => readModel.sync.readJoinSync(req.userID, clientVersion(req)));
      reply.header('content-type', JSON_CONTENT_TYPE);
      return dataEnvelope(
        incrementalJson({ version: s.version, versionID: s.versionID, full: s.full, deleted: s.deleted, insertedJson: s.insertedJson, updatedJson: '', sortVersion: 0 }),
      );
    });

    const membersDoc: RouteDoc = {
      summary: "A group's member changes since the version its client holds",
      description:
        `${FULL_RULE} Else \`delete\` holds the members who left since, \`insert\` and \`update\` the ` +
        'GroupMemberFullInfo of those who joined or changed (role, join time). `group` is the GroupInfo when the ' +
        "answer is full, the group's own info changed since, or members joined or left (its memberCount; upstream " +
        'only for its info), else null. `sortVersion` is the version of the last change of a role or join time. A member of the group ' +
        'or an admin; 1201 unknown group, 1204 dismissed.',
      tags: ['sync'],
      headers: 'operationID+token',
      body: GetIncrementalGroupMembersReq,
      data: GetIncrementalGroupMembersResp,
      errCodes: MEMBER_ERRORS,
      httpErrors: TOKEN_HTTP_ERRORS,
    };
    scope.post('/group/get_incremental_group_members', { onRequest: authenticate, config: { openapi: membersDoc } }, async (request, reply) => {
      const req = parseArgs(GetIncrementalGroupMembersReq, request.body);
      request.groupID = req.groupID;
      const caller = { userID: request.userID, isAdmin: isAdmin(request.userID) };
      const m = await read(() => readModel.sync.readMemberSync(req.groupID, caller, clientVersion(req)));
      if (m.outcome !== 'ok') throw memberOutcomeError(m.outcome, req.groupID);
      reply.header('content-type', JSON_CONTENT_TYPE);
      return dataEnvelope(memberJson(m));
    });
  });

  const batchDoc: RouteDoc = {
    summary: "Member changes of many of a user's groups at once",
    description:
      "`respList` maps each groupID to get_incremental_group_members' answer for it. Groups dismissed, unknown or " +
      "not the user's are left out, and so, once the answers hold more than " +
      `${MAX_BATCH_CHANGES} changes, are the groups after (as upstream; the client asks again for those). ` +
      `At most MAX_GROUP_IDS (${config.MAX_GROUP_IDS}) groups; a repeated group answers once. Self or admin only.`,
    tags: ['sync'],
    headers: 'operationID+token',
    body: batchReq,
    data: GetIncrementalGroupMembersBatchResp,
    errCodes: [...TOKEN_ERRORS, ErrCode.NoPermission],
    httpErrors: TOKEN_HTTP_ERRORS,
  };
  app.post('/group/get_incremental_group_members_batch', { onRequest: authenticate, config: { openapi: batchDoc } }, async (request, reply) => {
    const req = parseArgs(batchReq, request.body);
    request.fromUserID = req.userID;
    requireSelfOrAdmin(ctx, request.userID, req.userID, 'userID');
    const asked = new Map<string, ClientVersion>();
    for (const r of req.reqList) if (!asked.has(r.groupID)) asked.set(r.groupID, clientVersion(r));
    // The user's own membership decides, whoever asks (an admin asks on the user's behalf).
    const caller = { userID: req.userID, isAdmin: false };
    const entries = [...asked];
    const answers: string[] = [];
    let changes = 0;
    // One generation for the whole answer, however many slices it takes.
    const at = await read(() => readModel.current());
    // In slices sent together (one round trip each), stopping at the bound.
    for (let i = 0; i < entries.length && changes <= MAX_BATCH_CHANGES; i += 50) {
      const slice = entries.slice(i, i + 50);
      const got = await read(() => Promise.all(slice.map(([groupID, v]) => readModel.sync.readMemberSync(groupID, caller, v, at))));
      for (let k = 0; k < slice.length && changes <= MAX_BATCH_CHANGES; k++) {
        const m = got[k]!;
        if (m.outcome !== 'ok') continue;
        changes += m.changes;
        answers.push(`${JSON.stringify(slice[k]![0])}:${memberJson(m)}`);
      }
    }
    reply.header('content-type', JSON_CONTENT_TYPE);
    return dataEnvelope(`{"respList":{${answers.join(',')}}}`);
  });
}
