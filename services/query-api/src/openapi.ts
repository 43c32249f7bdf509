import { ErrCode, ErrMsg, ErrorEnvelope, HttpStatus } from '@imgroups/contracts';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

/**
 * OpenAPI 3 at /docs (Swagger UI) and /docs/json, generated from the zod
 * schemas the routes parse with. The routes carry no fastify `schema` (that
 * would add ajv validation to every request, and ours is zod's, after the
 * token check); each declares its documentation in `config.openapi` and
 * @fastify/swagger's transform turns that into the operation.
 */

export interface RouteDoc {
  summary: string;
  description: string;
  tags: string[];
  /** Which headers the route requires. */
  headers: 'none' | 'operationID' | 'operationID+token';
  /** The request body (zod, the schema the handler parses with). */
  body?: z.ZodType;
  /** The envelope's `data` on success (zod). */
  data?: z.ZodType;
  /** errCodes the route answers besides 0, in the HTTP 200 envelope. */
  errCodes?: readonly ErrCode[];
  /** HTTP statuses other than 200 the route answers with the error envelope. */
  httpErrors?: readonly (404 | 413 | 429 | 503)[];
  /** A non-envelope answer (metrics text, say) instead of `data`. */
  produces?: { contentType: string; description: string };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: RouteDoc;
  }
}

const toJsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<string, unknown>;

const codeList = (codes: readonly ErrCode[]) => codes.map((c) => `${c} ${ErrMsg[c]}`).join(', ');

function envelopeSchema(data: z.ZodType | undefined, codes: readonly ErrCode[]) {
  const properties: Record<string, unknown> = {
    errCode: { type: 'integer', enum: [0, ...codes], description: '0 on success, else the OpenIM error code' },
    errMsg: { type: 'string', description: "'' on success, else the error's name (e.g. ArgsError)" },
    errDlt: { type: 'string', description: "detail: 'message, key1=value1, key2=value2'; '' on success and on 500" },
  };
  if (data) properties.data = { ...toJsonSchema(data, 'output'), description: 'present on success (errCode 0) only' };
  return { type: 'object', properties, required: ['errCode', 'errMsg', 'errDlt'] };
}

const ALL_CODES = Object.values(ErrCode) as ErrCode[];

/** When each HTTP status other than 200 is answered; its errCode is the catalogue's (contracts/errors.ts). */
const HTTP_ERRORS: Record<404 | 413 | 429 | 503, string> = {
  404: 'unknown route or method',
  413: 'body over BODY_LIMIT_BYTES',
  429: 'rate limit exceeded (RATE_LIMIT_MAX; per token UserID)',
  503: 'shutting down, under pressure (event loop lag), or not ready',
};
const codeAnsweredWith = (status: number) => ALL_CODES.find((code) => HttpStatus[code] === status)!;

const HEADERS = {
  operationID: { type: 'string', minLength: 1, description: "the caller's trace ID, echoed in every log line" },
  token: { type: 'string', minLength: 1, description: 'OpenIM JWT (HS256), as from OpenIM or POST /auth/get_admin_token' },
};

/** The fastify-style route schema @fastify/swagger reads, built from a RouteDoc. */
export function routeSchema(doc: RouteDoc): Record<string, unknown> {
  const errorCodes = doc.errCodes ?? [];
  const response: Record<string, unknown> = {};
  if (doc.produces) {
    response[200] = {
      description: doc.produces.description,
      content: { [doc.produces.contentType]: { schema: { type: 'string' } } },
    };
  } else {
    response[200] = {
      description: errorCodes.length
        ? `The envelope: errCode 0 with data, or one of ${codeList(errorCodes)} without data`
        : 'The envelope with data',
      ...envelopeSchema(doc.data, errorCodes),
    };
  }
  for (const status of doc.httpErrors ?? []) {
    const when = HTTP_ERRORS[status];
    const code = codeAnsweredWith(status);
    response[status] = { description: `${when}: errCode ${code} ${ErrMsg[code]}`, ...toJsonSchema(ErrorEnvelope, 'output') };
  }
  const schema: Record<string, unknown> = {
    summary: doc.summary,
    description: doc.description,
    tags: doc.tags,
    response,
  };
  if (doc.headers !== 'none') {
    const withToken = doc.headers === 'operationID+token';
    schema.headers = {
      type: 'object',
      properties: withToken ? HEADERS : { operationID: HEADERS.operationID },
      required: withToken ? ['operationID', 'token'] : ['operationID'],
    };
    if (withToken) schema.security = [{ token: [] }];
  }
  if (doc.body) schema.body = toJsonSchema(doc.body, 'input');
  return schema;
}

const DESCRIPTION = `OpenIM-compatible group reads served from a Redis read model.

Every answer is OpenIM's envelope \`{"errCode", "errMsg", "errDlt", "data"}\`, with HTTP 200
(\`data\` only on success), except HTTP 404 (unknown route, errCode 1004), 413 (body too
large, errCode 413), 429 (rate limited, errCode 429) and 503 (shutting down, under
pressure or not ready, errCode 503). \`errDlt\` reads \`"message, key1=value1"\`.

Error codes: ${codeList(ALL_CODES)}.

Requests are strict: unknown fields, numbers sent as strings, fractions, values beyond
their type and IDs that are empty, longer than 64 characters or contain \`{\`, \`}\`, \`:\`,
control characters or a lone surrogate are refused with 1001 naming each bad field.`;

/** Registers @fastify/swagger (reads every route's config.openapi) and Swagger UI at /docs. */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'imgroups query API', version: '1.0.0', description: DESCRIPTION },
      components: {
        securitySchemes: { token: { type: 'apiKey', in: 'header', name: 'token' } },
      },
      tags: [
        { name: 'groups', description: 'group reads (OpenIM /group/*)' },
        { name: 'sync', description: "the OpenIM SDK's group sync: full IDs and incremental changes from the version logs" },
        { name: 'auth', description: 'admin tokens' },
        { name: 'operations', description: 'health, readiness, metrics' },
      ],
    },
    transform({ schema, url, route }) {
      // HEAD routes are fastify's automatic twins of the GET ones.
      if (route.method === 'HEAD') return { schema: { hide: true }, url };
      const doc = route.config?.openapi;
      return { schema: doc ? routeSchema(doc) : schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
