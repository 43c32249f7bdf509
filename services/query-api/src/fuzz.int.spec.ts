import { ErrCode, ErrMsg } from '@imgroups/contracts';
import { openImTokenStatusKey } from '@imgroups/read-model';
import { delEach } from '@imgroups/read-model/test-redis';
import { ev, openImToken, uniqueId } from '@imgroups/testing';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, SECRET, tokenFor, World } from './test-helpers.js';

/**
 * Whatever arrives, the answer is the envelope: never a stack trace, never an
 * HTML error page, never HTTP 500. At least 10,000 generated requests go
 * through inject: random routes, methods, headers, tokens, content types and
 * bodies, from near-valid to garbage bytes, against real data in Redis (with
 * the token-status check on, so that path is exercised too).
 */
const REQUESTS = 10_000;
const BODY_LIMIT = 4096;
const world = new World();
let app: FastifyInstance;
const user = uniqueId('fz');
const groups = [uniqueId('g'), uniqueId('g'), uniqueId('g')];
const dismissed = uniqueId('gone');
const tokens = {
  user: tokenFor(user),
  kicked: openImToken(SECRET, user, { platformID: 5 }),
  unregistered: openImToken(SECRET, user, { platformID: 2 }),
  admin: tokenFor(ADMIN),
  other: tokenFor(uniqueId('other')),
  expired: openImToken(SECRET, user, { nowSeconds: Math.floor(Date.now() / 1000) - 7200, ttlSeconds: 3600 }),
  forged: openImToken('not-the-secret', user),
};
const statusKeys = [openImTokenStatusKey(user, 'IOS'), openImTokenStatusKey(user, 'Web')];

beforeAll(async () => {
  await world.start();
  await world.joinGroups(user, [...groups, dismissed].map((groupID, i) => ({ groupID, joinTime: i + 1 })));
  await world.apply(ev.dismissed(dismissed));
  await world.openImRedis.hset(statusKeys[0]!, tokens.user, '0');
  await world.openImRedis.hset(statusKeys[1]!, tokens.kicked, '2');
  app = await world.app({ BODY_LIMIT_BYTES: String(BODY_LIMIT), TOKEN_STATUS_CHECK: 'true', MAX_GROUP_IDS: '50' });
});
afterAll(async () => {
  await delEach(world.openImRedis, statusKeys);
  await world.stop();
});

const ROUTES = [
  '/group/get_joined_group_list',
  '/group/get_groups_info',
  '/group/get_group_member_list',
  '/group/get_full_join_group_ids',
  '/auth/get_admin_token',
];

const printable = (maxLength: number) => fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.:{}!~ '.split('')), maxLength });

/** IDs from valid to key-breaking, long, typed wrong or absent. */
const anyId = fc.oneof(
  fc.constantFrom(user, ...groups, ADMIN, 'u1'),
  fc.string({ maxLength: 70 }),
  fc.constantFrom('', 'a:b', 'a{b', 'a}b', 'a\nb', 'a\u0000b', 'a\ud800b', 'x'.repeat(65), 'x'.repeat(3000)),
  fc.integer(),
  fc.constant(null),
  fc.constant(undefined),
  fc.jsonValue(),
);
const anyInt = fc.oneof(
  fc.integer({ min: -2, max: 12 }),
  fc.constantFrom(0, 1, 1000, 1001, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1.5, -0.5, '1', '10', null, true),
  fc.double(),
  fc.bigInt().map((b) => b.toString()),
);
const anyPagination = fc.oneof(
  fc.record({ pageNumber: anyInt, showNumber: anyInt }, { requiredKeys: [] }),
  fc.record({ pageNumber: anyInt, showNumber: anyInt, sortBy: fc.string() }),
  fc.jsonValue(),
);
const extra = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue(), { maxKeys: 2 });

/** Mostly the valid value, sometimes anything. */
const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 4, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: other });
const validPagination = fc.record({ pageNumber: fc.integer({ min: 1, max: 3 }), showNumber: fc.integer({ min: 0, max: 5 }) });
const knownGroup = fc.constantFrom(...groups, dismissed, 'unknownGroup');
const bigUint = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((b) => ({ raw: b }));
const anyBig = fc.bigInt({ min: -1n, max: 2n ** 65n }).map((b) => ({ raw: b }));

/** Per route: bodies shaped like its own, each field mostly valid, sometimes anything or dropped. */
const BODIES: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  '/group/get_joined_group_list': fc.record(
    { fromUserID: mostly(fc.constantFrom(user, 'u1'), anyId), pagination: mostly(validPagination, anyPagination) },
    { requiredKeys: [] },
  ),
  '/group/get_groups_info': fc.record(
    { groupIDs: mostly(fc.subarray([...groups, 'unknownGroup']), fc.oneof(fc.array(anyId, { maxLength: 60 }), anyId)) },
    { requiredKeys: [] },
  ),
  '/group/get_group_member_list': fc.record(
    { groupID: mostly(knownGroup, anyId), pagination: mostly(validPagination, anyPagination) },
    { requiredKeys: [] },
  ),
  '/group/get_full_join_group_ids': fc.record(
    { userID: mostly(fc.constant(user), anyId), idHash: mostly(bigUint, fc.oneof(anyInt, anyBig)) },
    { requiredKeys: ['userID'] },
  ),
  '/auth/get_admin_token': fc.record(
    { secret: mostly(fc.constant(SECRET), fc.string()), userID: mostly(fc.constant(ADMIN), anyId) },
    { requiredKeys: [] },
  ),
};
const anyRouteBody = fc.oneof(...Object.values(BODIES));

function serialize(value: unknown): string {
  // {raw: bigint} stands for an integer literal of any size, as a Go client writes a uint64.
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && 'raw' in v ? `@@${String((v as { raw: bigint }).raw)}@@` : v,
  ).replace(/"@@(-?\d+)@@"/g, '$1');
}

/** The body as sent: JSON text (big integers raw), garbage text or bytes, too large, or none. */
const bodyFor = (path: string) =>
  fc.oneof(
    {
      weight: 12,
      arbitrary: fc
        .tuple(BODIES[path] ?? anyRouteBody, extra, fc.integer({ min: 0, max: 9 }))
        .map(([b, x, n]) => serialize(n === 0 ? { ...b, ...x } : b)),
    },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.integer({ min: BODY_LIMIT - 50, max: BODY_LIMIT + 500 }).map((n) => `{"pad":"${'x'.repeat(n)}"}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

const path = fc.oneof(
  { weight: 16, arbitrary: fc.constantFrom(...ROUTES) },
  { weight: 1, arbitrary: fc.webPath().filter((p) => p.startsWith('/') && !p.startsWith('/docs') && !p.startsWith('/metrics')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('/%zz', '/group/%', '/group/get_joined_group_list/', '/healthz', '/readyz', '/GROUP/GET_GROUPS_INFO'),
  },
);
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const request: fc.Arbitrary<InjectOptions & { url: string }> = path.chain((url) =>
  fc
    .record({
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constant('POST') },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH') },
      ),
      operationID: mostly(fc.constant('op'), optional(printable(40))),
      token: mostly(
        fc.oneof(
          { weight: 6, arbitrary: fc.constant(tokens.user) },
          { weight: 2, arbitrary: fc.constant(tokens.admin) },
          { weight: 2, arbitrary: fc.constantFrom(...Object.values(tokens)) },
        ),
        optional(fc.oneof(fc.constant(''), printable(80))),
      ),
      contentType: mostly(
        fc.constant('application/json'),
        optional(
          fc.oneof(
            fc.constantFrom(
              'application/json; charset=utf-8',
              'APPLICATION/JSON',
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=x',
              'application/json; charset=latin1',
            ),
            printable(30),
          ),
        ),
      ),
      payload: bodyFor(url),
    })
    .map(({ method, operationID, token, contentType, payload }) => {
      const headers: Record<string, string> = {};
      if (typeof operationID === 'string') headers.operationID = operationID;
      if (typeof token === 'string') headers.token = token;
      if (typeof contentType === 'string') headers['content-type'] = contentType;
      return { url, method: method as InjectOptions['method'], headers, ...(payload === undefined ? {} : { payload }) };
    }),
);

const STACK_OR_HTML = /\bat\s+\S+\s+\(|\.[jt]s:\d+:\d+|node_modules|<html|<!doctype|<body/i;
const ENVELOPE_KEYS = ['errCode', 'errMsg', 'errDlt'];

describe('fuzzing every route with generated requests', () => {
  it(`answers ${REQUESTS} random requests with the envelope: never a stack, never HTML, never HTTP 500`, async () => {
    let sent = 0;
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (opts) => {
        const res = await app.inject(opts);
        sent++;
        const context = `${opts.method} ${opts.url} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
        expect([200, 404, 413, 429, 503], context).toContain(res.statusCode);
        expect(String(res.headers['content-type']), context).toMatch(/^application\/json/);
        expect(res.body, context).not.toMatch(STACK_OR_HTML);
        const envelope = JSON.parse(res.body) as Record<string, unknown>;
        const code = envelope.errCode as number;
        seen.set(code, (seen.get(code) ?? 0) + 1);
        expect(typeof code, context).toBe('number');
        expect(code, context).not.toBe(ErrCode.ServerInternal);
        expect(Object.keys(envelope), context).toEqual(code === 0 ? [...ENVELOPE_KEYS, 'data'] : ENVELOPE_KEYS);
        expect(envelope.errMsg, context).toBe(code === 0 ? '' : ErrMsg[code as ErrCode]);
        expect(typeof envelope.errDlt, context).toBe('string');
        if (res.statusCode === 404) expect(code, context).toBe(ErrCode.RecordNotFound);
        if (res.statusCode === 413) expect(code, context).toBe(ErrCode.PayloadTooLarge);
        if (code === 0) expect(res.statusCode, context).toBe(200);
      }),
      { numRuns: REQUESTS },
    );
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    // The generator reaches the interesting answers, not only one kind of refusal.
    for (const code of [0, 413, 1001, 1002, 1004, 1201, 1204, 1501, 1503, 1505, 1506, 1507]) {
      expect(seen.get(code) ?? 0, `errCode ${code} in ${JSON.stringify([...seen])}`).toBeGreaterThan(0);
    }
  });
});
