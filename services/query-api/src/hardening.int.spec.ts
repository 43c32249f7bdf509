import { connect } from 'node:net';
import { uniqueId } from '@imgroups/testing';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, expectArgsError, headersFor, SECRET, send, World } from './test-helpers.js';

/**
 * Bad input, class by class, on every POST route: each is refused with a
 * clear errCode 1001 naming what is wrong (413 for an oversized body), in the
 * error envelope with no data: nothing half-answered. IDs that could break
 * the Redis key layout are rejected, never encoded.
 */
const world = new World();
let app: FastifyInstance;

beforeAll(async () => {
  await world.start();
  app = await world.app();
});
afterAll(() => world.stop());

interface RouteCase {
  url: string;
  /** A valid body; `id` is the ID field the classes below corrupt. */
  body: Record<string, unknown>;
  id: string;
  /** Where pagination lives, for the number classes. */
  paged: boolean;
  token: boolean;
}

const pagination = { pageNumber: 1, showNumber: 10 };
const ROUTES: RouteCase[] = [
  { url: '/group/get_joined_group_list', body: { fromUserID: 'u1', pagination }, id: 'fromUserID', paged: true, token: true },
  { url: '/group/get_group_member_list', body: { groupID: 'g1', pagination }, id: 'groupID', paged: true, token: true },
  { url: '/group/get_full_join_group_ids', body: { userID: 'u1' }, id: 'userID', paged: false, token: true },
  { url: '/auth/get_admin_token', body: { secret: SECRET, userID: ADMIN }, id: 'userID', paged: false, token: false },
];
// get_groups_info's IDs are a list; its own cases follow the table.

function request(route: RouteCase, payload: unknown, contentType = 'application/json'): InjectOptions {
  const headers = route.token ? headersFor('u1', { 'content-type': contentType }) : { operationID: uniqueId('op'), 'content-type': contentType };
  return { method: 'POST', url: route.url, headers, payload: (typeof payload === 'string' ? payload : JSON.stringify(payload)) as string };
}

const withId = (route: RouteCase, id: unknown) => ({ ...route.body, [route.id]: id });

/** [class, body (string = raw text) or a function of the route, expected errDlt]. */
type Case = [string, (r: RouteCase) => unknown, string | RegExp, string?];
const CASES: Case[] = [
  ['malformed JSON', () => '{"userID": "u1",', 'body is not valid JSON'],
  ['truncated JSON', () => '{"userID": "u1', 'body is not valid JSON'],
  ['an empty body', () => '', 'body is empty; send a JSON object'],
  ['a JSON array', () => [1], 'body: must be an object, got array'],
  ['JSON null', () => 'null', 'body: must be an object, got null'],
  ['a JSON number', () => '42', 'body: must be an object, got 42'],
  ['a JSON string', () => '"hello"', 'body: must be an object, got string'],
  ['a "__proto__" key (prototype pollution)', (r) => `{"__proto__":{"admin":true},${JSON.stringify(r.body).slice(1)}`, 'body is not valid JSON'],
  ['a "constructor.prototype" key', (r) => `{"constructor":{"prototype":{"x":1}},${JSON.stringify(r.body).slice(1)}`, 'body is not valid JSON'],
  ['an unknown field', (r) => ({ ...r.body, extra: 1 }), 'extra: unknown field'],
  ['the ID missing', (r) => Object.fromEntries(Object.entries(r.body).filter(([k]) => k !== r.id)), /^(\w+): is required$/],
  ['an empty ID', (r) => withId(r, ''), /: must not be empty$/],
  ['an ID that is a number', (r) => withId(r, 3517105008), /: must be a string, got 3517105008$/],
  ['an ID that is an object', (r) => withId(r, { id: 'x' }), /: must be a string, got object$/],
  ['an ID of 65 characters', (r) => withId(r, 'u'.repeat(65)), /: must be at most 64 characters$/],
  ['an ID of 60,000 characters', (r) => withId(r, 'u'.repeat(60_000)), /: must be at most 64 characters$/],
  ...(['{', '}', ':', '\n', '\u0000', '\u001f', '\u007f'].map((c) => [
    `an ID containing ${JSON.stringify(c)} (it would break the Redis key layout)`,
    (r: RouteCase) => withId(r, `a${c}b`),
    /: must not contain "\{", "\}", ":" or control characters$/,
  ]) as Case[]),
  ['an ID with a lone surrogate', (r) => `${JSON.stringify(r.body).slice(0, -1)},"${r.id}":"a\\ud800b"}`, /: must be well-formed Unicode \(no lone surrogate\)$/],
  ['a body sent as text/plain', (r) => r.body, 'unsupported content-type; send application/json', 'text/plain'],
  ['a body sent as a form', () => 'userID=u1', 'unsupported content-type; send application/json', 'application/x-www-form-urlencoded'],
];

const PAGE_CASES: [string, unknown, string | RegExp][] = [
  ['pagination missing', undefined, 'pagination: is required'],
  ['pagination a string', 'page 1', 'pagination: must be an object, got string'],
  ['pageNumber as a string', { pageNumber: '1', showNumber: 10 }, 'pagination.pageNumber: must be a number, got string'],
  ['showNumber as a string', { pageNumber: 1, showNumber: '10' }, 'pagination.showNumber: must be a number, got string'],
  ['pageNumber 0', { pageNumber: 0, showNumber: 10 }, 'pagination.pageNumber: must be >= 1 (pages are 1-based)'],
  ['pageNumber negative', { pageNumber: -3, showNumber: 10 }, 'pagination.pageNumber: must be >= 1 (pages are 1-based)'],
  ['showNumber negative', { pageNumber: 1, showNumber: -1 }, 'pagination.showNumber: must be >= 0'],
  ['pageNumber fractional', { pageNumber: 1.5, showNumber: 10 }, 'pagination.pageNumber: must be an integer, got 1.5'],
  ['showNumber fractional', { pageNumber: 1, showNumber: 0.5 }, 'pagination.showNumber: must be an integer, got 0.5'],
  ['pageNumber beyond int32', { pageNumber: 2 ** 31, showNumber: 10 }, 'pagination.pageNumber: must be <= 2147483647'],
  ['showNumber over MAX_SHOW_NUMBER', { pageNumber: 1, showNumber: 1001 }, 'pagination.showNumber: must be <= 1000'],
  ['pageNumber null', { pageNumber: null, showNumber: 10 }, 'pagination.pageNumber: must be a number, got null'],
  ['pageNumber a boolean', { pageNumber: true, showNumber: 10 }, 'pagination.pageNumber: must be a number, got boolean'],
  ['an unknown pagination field', { pageNumber: 1, showNumber: 10, sort: 'name' }, 'pagination.sort: unknown field'],
];

for (const route of ROUTES) {
  describe(`POST ${route.url} refuses`, () => {
    it.each(CASES)('%s with 1001', async (_class, body, errDlt, contentType) => {
      expectArgsError(await send(app, request(route, body(route), contentType)), errDlt);
    });

    if (route.paged) {
      it.each(PAGE_CASES)('%s with 1001', async (_class, value, errDlt) => {
        const body = { ...route.body, pagination: value };
        if (value === undefined) delete body.pagination;
        expectArgsError(await send(app, request(route, body)), errDlt);
      });
    }

    it('a nesting 10,000 deep where a value belongs, without a crash', async () => {
      const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
      // A repeated key: the last one wins, as in JSON.parse.
      const body = `${JSON.stringify(route.body).slice(0, -1)},"${route.id}":${deep}}`;
      expectArgsError(await send(app, request(route, body)), `${route.id}: must be a string, got array`);
    });

    it('a body over BODY_LIMIT_BYTES with HTTP 413 and errCode 413', async () => {
      const res = await send(app, request(route, { ...route.body, pad: 'x'.repeat(65_536) }));
      expect(res.status).toBe(413);
      expect(res.body).toEqual({ errCode: 413, errMsg: 'PayloadTooLarge', errDlt: 'request body is too large, limitBytes=65536' });
    });
  });
}

describe('POST /group/get_groups_info refuses', () => {
  const groupsInfo = (payload: unknown) => request({ ...ROUTES[0]!, url: '/group/get_groups_info' }, payload);
  it.each([
    ['groupIDs missing', {}, 'groupIDs: is required'],
    ['groupIDs not a list', { groupIDs: 'g1' }, 'groupIDs: must be an array, got string'],
    ['an empty list', { groupIDs: [] }, 'groupIDs: must not be empty'],
    ['a number among the IDs', { groupIDs: ['g1', 7] }, 'groupIDs.1: must be a string, got 7'],
    ['an empty ID among them', { groupIDs: ['g1', ''] }, 'groupIDs.1: must not be empty'],
    ['a key-breaking ID among them', { groupIDs: ['g}1'] }, 'groupIDs.0: must not contain "{", "}", ":" or control characters'],
    ['more IDs than MAX_GROUP_IDS', { groupIDs: Array.from({ length: 1001 }, (_, i) => `g${i}`) }, 'groupIDs: must hold at most 1000 IDs'],
    ['an unknown field', { groupIDs: ['g1'], pagination }, 'pagination: unknown field'],
  ])('%s with 1001', async (_class, body, errDlt) => {
    expectArgsError(await send(app, groupsInfo(body)), errDlt);
  });
});

describe('limits and transport', () => {
  it('takes the body limit from BODY_LIMIT_BYTES: at the limit answers, one byte over is 413', async () => {
    const small = await world.app({ BODY_LIMIT_BYTES: '2048' });
    const user = uniqueId('u');
    const base = JSON.stringify({ fromUserID: user, pagination });
    const atLimit = `${base.slice(0, -1)}${' '.repeat(2048 - base.length)}}`;
    expect(Buffer.byteLength(atLimit)).toBe(2048);
    const opts = (payload: string) => ({ method: 'POST' as const, url: '/group/get_joined_group_list', headers: headersFor(user, { 'content-type': 'application/json' }), payload });
    expect((await send(small, opts(atLimit))).body).toMatchObject({ errCode: 0, data: { total: 0 } });
    const over = await send(small, opts(`${atLimit} `));
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ errCode: 413, errMsg: 'PayloadTooLarge', errDlt: 'request body is too large, limitBytes=2048' });
  });

  it.each(['/%zz', '/group/%E0%A4%A', '/docs/static/%'])('answers a path that does not decode (%s) with 404 and the envelope', async (url) => {
    const res = await send(app, { method: 'GET', url });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errCode: 1004, errMsg: 'RecordNotFoundError', errDlt: 'route not found' });
  });

  it('answers malformed HTTP that never becomes a request with the envelope, not fastify\'s body', async () => {
    const listening = await world.app();
    await listening.listen({ host: '127.0.0.1', port: 0 });
    const { port } = listening.server.address() as { port: number };
    const raw = await new Promise<string>((resolve, reject) => {
      let out = '';
      const socket = connect(port, '127.0.0.1', () => socket.write('GARBAGE\r\n\r\n'));
      socket.on('data', (b) => (out += b.toString()));
      socket.on('close', () => resolve(out));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw.split('\r\n\r\n')[1]).toBe('{"errCode":1001,"errMsg":"ArgsError","errDlt":"malformed HTTP request"}');
  });

  it('answers a query string on a route as that route (the body is what counts)', async () => {
    const res = await send(app, { method: 'POST', url: '/group/get_joined_group_list?x=%zz&fromUserID=other', headers: headersFor('u1'), payload: { fromUserID: 'u1', pagination } });
    expect(res.body).toMatchObject({ errCode: 0, data: { total: 0 } });
  });
});
