import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '@imgroups/config';
import { CodeError, ErrCode, GetAdminTokenReq, GetJoinedGroupListReq } from '@imgroups/contracts';
import { ReadModel } from '@imgroups/read-model';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyServerOptions,
  type onRequestHookHandler,
} from 'fastify';
import type { Redis } from 'ioredis';
import { ADMIN_PLATFORM_ID, createAuth } from './auth.js';
import { joinedGroupListEnvelope, JSON_CONTENT_TYPE, okEnvelope } from './envelope.js';
import { createErrorHandler, HttpCodeError, parseArgs } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token's UserID, set by the authenticate hook. */
    userID: string;
  }
}

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

export interface AppDeps {
  config: Config;
  redis: Redis;
  /** Pino options merged over the defaults (level from LOG_LEVEL, token redaction); false for none. */
  logger?: false | LoggerOptions;
}

/** Bounds how long a request may trickle in (slowloris) when no proxy sits in front. */
const REQUEST_TIMEOUT_MS = 30_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

function operationIDError(header: string | string[] | undefined): CodeError | undefined {
  return typeof header === 'string' && header !== ''
    ? undefined
    : new CodeError(ErrCode.Args, 'header must have operationID');
}

/**
 * The query API. Headers are checked and the token verified in onRequest,
 * before the body is read (as upstream's middleware does); then the body is
 * validated, the caller's right to the list checked, and one Lua call reads
 * the page. Listening is the caller's business: tests use `app.inject()`.
 */
export async function build(deps: AppDeps): Promise<FastifyInstance> {
  const { config, redis } = deps;
  const readModel = new ReadModel(redis, { root: config.REDIS_KEY_PREFIX, dedupeWindow: config.DEDUPE_WINDOW });
  const auth = createAuth({ secret: config.OPENIM_SECRET, expireDays: config.TOKEN_EXPIRE_DAYS });
  const admins = new Set(config.ADMIN_USER_IDS);
  const secretDigest = sha256(config.OPENIM_SECRET);
  // Schemas are built once; a request only runs them.
  const joinedListReq = GetJoinedGroupListReq(config.MAX_SHOW_NUMBER);

  const app = Fastify({
    logger:
      deps.logger === false
        ? false
        : {
            level: config.LOG_LEVEL,
            ...deps.logger,
            // The token is a bearer credential; it must never reach a log line.
            redact: { paths: ['req.headers.token', 'headers.token'], censor: '[redacted]' },
          },
    // operationID is the client's trace ID: it becomes the request ID on every log line.
    requestIdHeader: 'operationid',
    logController: new LogController({ requestIdLogLabel: 'operationID' }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Requests arriving while we drain get our envelope (below) rather than fastify's own 503 body.
    return503OnClosing: false,
  });

  app.decorateRequest('userID', '');
  app.setErrorHandler(createErrorHandler(config.BODY_LIMIT_BYTES));
  app.setNotFoundHandler(() => {
    throw new HttpCodeError(404, ErrCode.RecordNotFound, 'route not found');
  });
  // JSON only: a text/plain body is refused as a content-type error, not parsed as a string.
  app.removeContentTypeParser('text/plain');

  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    reply.header('connection', 'close');
    done(new HttpCodeError(503, ErrCode.ServiceUnavailable, 'server is shutting down'));
  });

  // Upstream's GinParseOperationID: every API call names its operation for tracing.
  const requireOperationID: onRequestHookHandler = (request, _reply, done) => {
    done(operationIDError(request.headers.operationid));
  };

  // Upstream's GinParseToken, after the operationID check.
  const authenticate: onRequestHookHandler = (request, _reply, done) => {
    const missing = operationIDError(request.headers.operationid);
    if (missing) return done(missing);
    const token = request.headers.token;
    if (typeof token !== 'string' || token === '') {
      return done(new CodeError(ErrCode.Args, 'header must have token'));
    }
    try {
      request.userID = auth.verify(token);
    } catch (err) {
      return done(err as CodeError);
    }
    done();
  };

  app.post('/group/get_joined_group_list', { onRequest: authenticate }, async (request, reply) => {
    const { fromUserID, pagination } = parseArgs(joinedListReq, request.body);
    if (request.userID !== fromUserID && !admins.has(request.userID)) {
      throw new CodeError(ErrCode.NoPermission, 'only the user or an admin may read this list', {
        fromUserID,
      });
    }
    const { pageNumber, showNumber } = pagination;
    const page = await readModel.readPage(fromUserID, (pageNumber - 1) * showNumber, showNumber);
    reply.header('content-type', JSON_CONTENT_TYPE);
    return joinedGroupListEnvelope(page.total, page.groupsJson);
  });

  app.post('/auth/get_admin_token', { onRequest: requireOperationID }, async (request, reply) => {
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
  });

  // Liveness only: answers while the process serves HTTP, whatever Redis is doing.
  app.get('/healthz', async (_request, reply) => {
    reply.header('content-type', JSON_CONTENT_TYPE);
    return okEnvelope({ status: 'ok' });
  });

  return app;
}
