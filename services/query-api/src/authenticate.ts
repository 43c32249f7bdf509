import { CodeError, ErrCode } from '@imgroups/contracts';
import type { onRequestHookHandler } from 'fastify';
import type { Auth } from './auth.js';
import type {} from './request-state.js';
import type { TokenStatusCheck } from './token-status.js';

/**
 * The header checks, run in onRequest: before the body is read, as
 * upstream's middleware does.
 */
export interface RequestChecks {
  /** Upstream's GinParseOperationID: every API call names its operation for tracing. */
  requireOperationID: onRequestHookHandler;
  /**
   * Upstream's GinParseToken, after the operationID check; with
   * TOKEN_STATUS_CHECK also OpenIM's token status, as upstream's auth RPC
   * does. Sets request.userID to the token's caller.
   */
  authenticate: onRequestHookHandler;
}

export interface RequestChecksDeps {
  auth: Auth;
  admins: ReadonlySet<string>;
  /** OpenIM's token status (TOKEN_STATUS_CHECK); admins skip it, as upstream. */
  tokenStatus: TokenStatusCheck | undefined;
  /** Counts a failed Redis read; returns the error to pass on (a 500). */
  redisFailure(err: unknown): unknown;
}

function operationIDError(header: string | string[] | undefined): CodeError | undefined {
  return typeof header === 'string' && header !== ''
    ? undefined
    : new CodeError(ErrCode.Args, 'header must have operationID');
}

export function createRequestChecks({ auth, admins, tokenStatus, redisFailure }: RequestChecksDeps): RequestChecks {
  const requireOperationID: onRequestHookHandler = (request, _reply, done) => {
    done(operationIDError(request.headers.operationid));
  };

  const authenticate: onRequestHookHandler = (request, _reply, done) => {
    const missing = operationIDError(request.headers.operationid);
    if (missing) return done(missing);
    const token = request.headers.token;
    if (typeof token !== 'string' || token === '') {
      return done(new CodeError(ErrCode.Args, 'header must have token'));
    }
    let caller;
    try {
      caller = auth.verify(token);
    } catch (err) {
      return done(err as CodeError);
    }
    request.userID = caller.userID;
    if (tokenStatus === undefined || admins.has(caller.userID)) return done();
    tokenStatus(token, caller.userID, caller.platformID).then(
      () => done(),
      (err: unknown) => done((err instanceof CodeError ? err : redisFailure(err)) as Error),
    );
  };

  return { requireOperationID, authenticate };
}
