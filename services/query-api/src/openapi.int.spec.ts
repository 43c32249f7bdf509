import { GROUP_INFO_FIELDS, GROUP_MEMBER_FIELDS } from '@imgroups/contracts';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from './test-helpers.js';

/**
 * OpenAPI 3 at /docs/json (Swagger UI at /docs), generated from the zod
 * schemas the routes parse with: a valid document that lists every route the
 * app serves, each with the envelope and its error codes.
 */
const world = new World();
let app: FastifyInstance;
let doc: Record<string, any>;

beforeAll(async () => {
  await world.start();
  // Not shedding here: compiling the OpenAPI meta-schema blocks the event loop for a second.
  app = await world.app({ MAX_EVENT_LOOP_DELAY_MS: '0' });
  const res = await app.inject({ method: 'GET', url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});
afterAll(() => world.stop());

/** Every (method, path) the app serves, read from fastify's route tree. */
function servedRoutes(instance: FastifyInstance): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of instance.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)(?:├── |└── )(.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      out.push({ method, path: stack.join('') });
    }
  }
  return out;
}

describe('GET /docs/json', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\./);
  });

  it('lists every route the app serves (HEAD twins and the docs pages aside)', () => {
    const routes = servedRoutes(app).filter((r) => r.method !== 'HEAD' && !r.path.startsWith('/docs'));
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const { method, path } of routes) {
      expect(doc.paths[path]?.[method.toLowerCase()], `${method} ${path}`).toBeDefined();
    }
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('includes the routes of the issue', () => {
    for (const path of [
      '/group/get_joined_group_list',
      '/group/get_groups_info',
      '/group/get_group_member_list',
      '/group/get_full_join_group_ids',
      '/auth/get_admin_token',
    ]) {
      expect(doc.paths[path]?.post, path).toBeDefined();
    }
    for (const path of ['/healthz', '/readyz', '/metrics']) expect(doc.paths[path]?.get, path).toBeDefined();
  });

  it('describes each group route with its headers, strict body, envelope and error codes', () => {
    const op = doc.paths['/group/get_joined_group_list'].post;
    expect(op.security).toEqual([{ token: [] }]);
    expect(doc.components.securitySchemes.token).toEqual({ type: 'apiKey', in: 'header', name: 'token' });
    expect(op.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'operationID', required: true }));
    const body = op.requestBody.content['application/json'].schema;
    expect(body).toMatchObject({ type: 'object', required: ['fromUserID', 'pagination'], additionalProperties: false });
    expect(body.properties.pagination.properties.showNumber).toMatchObject({ type: 'integer', minimum: 0, maximum: 1000 });
    expect(body.properties.fromUserID).toMatchObject({ type: 'string', minLength: 1, maxLength: 64 });
    const envelope = op.responses['200'].content['application/json'].schema;
    expect(envelope.required).toEqual(['errCode', 'errMsg', 'errDlt']);
    expect(envelope.properties.errCode.enum).toEqual(expect.arrayContaining([0, 1001, 1002, 1501, 1503, 1504, 1505, 1506, 1507, 500]));
    expect(Object.keys(envelope.properties.data.properties.groups.items.properties)).toEqual([...GROUP_INFO_FIELDS]);
    for (const status of ['413', '429', '503']) expect(op.responses[status], status).toBeDefined();
  });

  it('documents the member fields, the uint64 idHash and 1201/1204', () => {
    const members = doc.paths['/group/get_group_member_list'].post.responses['200'].content['application/json'].schema;
    expect(Object.keys(members.properties.data.properties.members.items.properties)).toEqual([...GROUP_MEMBER_FIELDS]);
    expect(members.properties.errCode.enum).toEqual(expect.arrayContaining([1201, 1204]));
    const fullIds = doc.paths['/group/get_full_join_group_ids'].post.requestBody.content['application/json'].schema;
    expect(fullIds.properties.idHash).toMatchObject({ type: 'integer', format: 'uint64', minimum: 0 });
  });

  it('lists every error code in the description', () => {
    for (const code of [500, 1001, 1002, 1003, 1004, 1201, 1204, 1501, 1502, 1503, 1504, 1505, 1506, 1507, 429, 503, 413]) {
      expect(doc.info.description).toContain(String(code));
    }
  });
});

describe('GET /docs', () => {
  it('serves the Swagger UI page and its assets', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('swagger-ui');
    const css = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' });
    expect(css.statusCode).toBe(200);
  });

  it('answers an unknown docs asset with the 404 envelope, not an HTML page', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/static/nothing-here.js' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ errCode: 1004, errMsg: 'RecordNotFoundError', errDlt: 'route not found' });
  });
});
