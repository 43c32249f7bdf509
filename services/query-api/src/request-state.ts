import type { FastifyInstance } from 'fastify';

/**
 * What a request carries besides fastify's own fields, for the one access-log
 * line and the metrics written when it ends. Declared up front (fastify's
 * decorateRequest) so every request object has the same shape.
 */
declare module 'fastify' {
  interface FastifyRequest {
    /** The token's UserID (the caller), set by the authenticate hook; '' without a token. */
    userID: string;
    /** The user the request is about (fromUserID, userID of the body), for the log. */
    fromUserID: string;
    /** The group the request is about (get_group_member_list), for the log. */
    groupID: string;
    /** The answer's errCode (0 = success), set by the error handler. */
    errCode: number;
    errDlt: string;
    /** The error behind a 500, logged with its stack on the access-log line. */
    failure: unknown;
    /** Counted in the in-flight gauge and not yet uncounted. */
    inFlight: boolean;
  }
}

export function decorateRequestState(app: FastifyInstance): void {
  app.decorateRequest('userID', '');
  app.decorateRequest('fromUserID', '');
  app.decorateRequest('groupID', '');
  app.decorateRequest('errCode', 0);
  app.decorateRequest('errDlt', '');
  app.decorateRequest('failure', null);
  app.decorateRequest('inFlight', false);
}
