import type { Config } from '@imgroups/config';
import { CodeError, ErrCode } from '@imgroups/contracts';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type {} from './request-state.js';

/**
 * Load shedding (MAX_EVENT_LOOP_DELAY_MS, @fastify/under-pressure) and the
 * per-user rate limit (RATE_LIMIT_MAX, @fastify/rate-limit); each plugin is
 * registered only when configured, so it costs nothing otherwise.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @fastify/under-pressure reads it per route: ours exempts liveness and metrics from shedding. */
    pressureHandler?: (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => void;
  }
}

/** Keys the in-memory rate limiter tracks; the least recently seen beyond it are forgotten. */
const RATE_LIMIT_TRACKED_USERS = 100_000;

/** Answered while the event loop lags past MAX_EVENT_LOOP_DELAY_MS (@fastify/under-pressure). */
class UnderPressureError extends CodeError {
  constructor() {
    super(ErrCode.ServiceUnavailable, 'server is under pressure, retry later');
  }
}

/** Route config: never shed (liveness must not fail because the process is busy). */
export const neverShed = () => undefined;

export async function registerProtection(app: FastifyInstance, config: Config, admins: ReadonlySet<string>): Promise<void> {
  if (config.MAX_EVENT_LOOP_DELAY_MS > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
      customError: UnderPressureError,
      retryAfter: 1,
    });
  }

  if (config.RATE_LIMIT_MAX > 0) {
    // Keyed by the token's UserID, after authentication (preParsing): many IM
    // clients share one NAT address, so an IP says nothing about who calls.
    // Admins are exempt; routes without a token opt out (config.rateLimit: false).
    await app.register(rateLimit, {
      global: true,
      hook: 'preParsing',
      max: config.RATE_LIMIT_MAX,
      timeWindow: config.RATE_LIMIT_WINDOW_MS,
      cache: RATE_LIMIT_TRACKED_USERS,
      keyGenerator: (request) => request.userID,
      allowList: (request) => request.userID === '' || admins.has(request.userID),
      errorResponseBuilder: (_request, context) =>
        new CodeError(ErrCode.TooManyRequests, 'too many requests', {
          limit: context.max,
          windowMs: config.RATE_LIMIT_WINDOW_MS,
          retryAfterSeconds: Math.ceil(context.ttl / 1000),
        }),
    });
  }
}
