import { createHash, timingSafeEqual } from 'node:crypto';
import { CodeError, ErrCode, GetAdminTokenReq, GetAdminTokenResp } from '@imgroups/contracts';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { ADMIN_PLATFORM_ID, type Auth } from '../auth.js';
import { JSON_CONTENT_TYPE, okEnvelope } from '../envelope.js';
import { parseArgs } from '../errors.js';
import type { RouteDoc } from '../openapi.js';

export interface AuthRouteContext {
  auth: Auth;
  /** OPENIM_SECRET, which the caller proves it knows. */
  secret: string;
  admins: ReadonlySet<string>;
  /** The operationID check (the route takes no token). */
  requireOperationID: onRequestHookHandler;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

const adminTokenDoc: RouteDoc = {
  summary: 'An admin token',
  description: 'For a userID in ADMIN_USER_IDS, with the shared secret (OPENIM_SECRET). The token has PlatformID 10.',
  tags: ['auth'],
  headers: 'operationID',
  body: GetAdminTokenReq,
  data: GetAdminTokenResp,
  errCodes: [ErrCode.Args, ErrCode.NoPermission],
  httpErrors: [413, 503],
};

/** POST /auth/get_admin_token: upstream's way for an admin to get a token, with the shared secret. */
export function registerAuthRoute(app: FastifyInstance, ctx: AuthRouteContext): void {
  const { auth, admins } = ctx;
  const secretDigest = sha256(ctx.secret);
  app.post(
    '/auth/get_admin_token',
    { onRequest: ctx.requireOperationID, config: { openapi: adminTokenDoc, rateLimit: false } },
    async (request, reply) => {
      const { secret, userID } = parseArgs(GetAdminTokenReq, request.body);
      // Compare digests: constant time, whatever the lengths.
      if (!timingSafeEqual(sha256(secret), secretDigest)) {
        throw new CodeError(ErrCode.NoPermission, 'secret invalid');
      }
      if (!admins.has(userID)) {
        throw new CodeError(ErrCode.Args, 'userID is not an admin', { userID });
      }
      reply.header('content-type', JSON_CONTENT_TYPE);
      return okEnvelope(auth.mint(userID, ADMIN_PLATFORM_ID));
    },
  );
}
