import { CodeError, ErrCode } from '@imgroups/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiMetrics } from './metrics.js';
import type {} from './request-state.js';

/**
 * Around every route: the shutdown check and the in-flight gauge (onRequest),
 * and when the request ends its latency and its one access-log line
 * (onResponse, never the token). A 500 logs at error level with the error and
 * its stack; the rest at info, so LOG_LEVEL=warn keeps only the failures.
 */
export interface RequestLifecycle {
  /** Ends a request no hook saw (fastify's frameworkErrors): its latency and its log line. */
  finished(request: FastifyRequest, reply: FastifyReply, route: string): void;
}

const INFO_OR_FINER = new Set(['info', 'debug', 'trace']);

export function registerRequestLifecycle(app: FastifyInstance, metrics: ApiMetrics, logging: boolean): RequestLifecycle {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    request.inFlight = true;
    metrics.requestStarted();
    if (!closing) return done();
    reply.header('connection', 'close');
    done(new CodeError(ErrCode.ServiceUnavailable, 'server is shutting down'));
  });
  app.addHook('onRequestAbort', (request, done) => {
    if (request.inFlight) {
      request.inFlight = false;
      metrics.requestEnded();
    }
    done();
  });

  const logEveryRequest = logging && INFO_OR_FINER.has(app.log.level);
  function finished(request: FastifyRequest, reply: FastifyReply, route: string) {
    const latencyMs = reply.elapsedTime;
    metrics.observe(route, request.errCode, latencyMs / 1000);
    const failed = request.errCode === ErrCode.ServerInternal;
    if (!failed && !logEveryRequest) return;
    const line = {
      method: request.method,
      route,
      status: reply.statusCode,
      errCode: request.errCode,
      errDlt: request.errDlt,
      caller: request.userID,
      fromUserID: request.fromUserID,
      groupID: request.groupID,
      latencyMs: Math.round(latencyMs * 1000) / 1000,
    };
    if (failed) request.log.error({ ...line, err: request.failure }, 'request failed');
    else request.log.info(line, 'request');
  }
  app.addHook('onResponse', (request, reply, done) => {
    if (request.inFlight) {
      request.inFlight = false;
      metrics.requestEnded();
    }
    finished(request, reply, request.routeOptions.url ?? 'not_found');
    done();
  });
  return { finished };
}
