import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { CodeError, ErrCode, formatDetail, HttpStatus } from '@imgroups/contracts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errorEnvelope, JSON_CONTENT_TYPE } from './envelope.js';
import type {} from './request-state.js';

/**
 * Errors -> envelope, in one place. The HTTP status of each answer is the
 * catalogue's (contracts/errors.ts): 200 for upstream's codes, the status of
 * the same meaning for the transport's (unknown route 404, body over the
 * limit 413, rate limited 429, shutting down or under pressure 503).
 */

// ---- request validation --------------------------------------------------

const EXPECTED: Record<string, string> = {
  object: 'an object',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  array: 'an array',
  boolean: 'a boolean',
};

function received(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  // Numbers are short and say exactly what was wrong ("got 1.5"); other values are not echoed.
  if (typeof input === 'number') return String(input);
  return typeof input;
}

/**
 * Messages for the issues whose schema gave none (a schema's own message,
 * like "must be <= 1000", wins over this map). Built once; passed to every parse.
 */
const PARSE_OPTIONS = {
  error(issue: z.core.$ZodRawIssue): string | undefined {
    switch (issue.code) {
      case 'invalid_type':
        if (issue.input === undefined) return 'is required';
        return `must be ${EXPECTED[issue.expected] ?? issue.expected}, got ${received(issue.input)}`;
      case 'too_big':
        return issue.origin === 'string'
          ? `must be at most ${String(issue.maximum)} characters`
          : `must be <= ${String(issue.maximum)}`;
      case 'too_small':
        return issue.origin === 'string'
          ? `must be at least ${String(issue.minimum)} characters`
          : `must be >= ${String(issue.minimum)}`;
      case 'unrecognized_keys':
        return 'unknown field';
      default:
        return undefined;
    }
  },
};

/** A body with thousands of unknown keys must not produce a huge errDlt. */
const MAX_REPORTED_ISSUES = 5;
const MAX_NAME_LENGTH = 64;

const fieldName = (path: PropertyKey[]): string =>
  path.length === 0 ? 'body' : path.map((p) => String(p).slice(0, MAX_NAME_LENGTH)).join('.');

/** `"pagination.showNumber: must be <= 1000; fromUserID: must not be empty"`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const parts: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) parts.push(`${fieldName([...issue.path, key])}: unknown field`);
    } else {
      parts.push(`${fieldName(issue.path)}: ${issue.message}`);
    }
  }
  const extra = parts.length - MAX_REPORTED_ISSUES;
  return extra > 0
    ? `${parts.slice(0, MAX_REPORTED_ISSUES).join('; ')}; and ${extra} more`
    : parts.join('; ');
}

/** Parse a request body or throw ArgsError (1001) naming each bad field and what is wrong. */
export function parseArgs<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, PARSE_OPTIONS);
  if (result.success) return result.data;
  throw new CodeError(ErrCode.Args, describeIssues(result.error.issues));
}

// ---- the error handler ---------------------------------------------------

/** Fastify's own client errors (body parsing), in our words. */
const FASTIFY_CLIENT_ERRORS: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body is empty; send a JSON object',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported content-type; send application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'body length does not match content-length',
};

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as FastifyError).code === 'string' && (err as FastifyError).code.startsWith('FST_');
}

interface Mapped {
  code: ErrCode;
  errDlt: string;
}

export function mapError(err: unknown, bodyLimit: number): Mapped {
  if (err instanceof CodeError) {
    // A 500's detail is for the log, never the client.
    return { code: err.code, errDlt: err.code === ErrCode.ServerInternal ? '' : err.errDlt };
  }
  if (isFastifyError(err)) {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return { code: ErrCode.PayloadTooLarge, errDlt: formatDetail('request body is too large', { limitBytes: bodyLimit }) };
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's messages are fixed templates, safe to show when we have no better words.
      return { code: ErrCode.Args, errDlt: FASTIFY_CLIENT_ERRORS[err.code] ?? err.message };
    }
  }
  return { code: ErrCode.ServerInternal, errDlt: '' };
}

/** What a path that names no route answers (the not-found handler, and a path that does not decode). */
export const routeNotFound = () => new CodeError(ErrCode.RecordNotFound, 'route not found');

/**
 * The error handler. It logs nothing itself: the request's one access-log
 * line (request-lifecycle.ts, onResponse) carries the errCode, and for a 500
 * the error with its stack.
 */
export function createErrorHandler(bodyLimit: number) {
  return function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply) {
    const mapped = mapError(err, bodyLimit);
    request.errCode = mapped.code;
    request.errDlt = mapped.errDlt;
    if (mapped.code === ErrCode.ServerInternal) request.failure = err;
    return reply
      .code(HttpStatus[mapped.code])
      .header('content-type', JSON_CONTENT_TYPE)
      .send(errorEnvelope(mapped.code, mapped.errDlt));
  };
}

/** Node's HTTP parser errors -> the HTTP status of the answer; any other is 400. */
const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * Malformed HTTP that never became a request (bad request line, huge headers,
 * REQUEST_TIMEOUT): our envelope, not fastify's, written to the socket itself
 * since there is no request to answer.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? 400;
  const body = errorEnvelope(ErrCode.Args, status === 408 ? 'request timed out' : 'malformed HTTP request');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
