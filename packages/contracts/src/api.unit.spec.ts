import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_MAX_SHOW_NUMBER, GetJoinedGroupListReq, INT32_MAX, quickJoinedGroupListReq } from './api.js';

/**
 * The request body of POST /group/get_joined_group_list (CONTRACT.md §1):
 * pageNumber and showNumber are int32 upstream, so a string, a fraction or a
 * value beyond int32 fails decoding; requests are strict (unknown fields are
 * an ArgsError); showNumber has a configurable maximum.
 */

const valid = { fromUserID: '3517105008', pagination: { pageNumber: 1, showNumber: 10 } };

/** The request as a client would send it: through JSON. */
function parse(body: unknown, maxShowNumber?: number) {
  return GetJoinedGroupListReq(maxShowNumber).safeParse(JSON.parse(JSON.stringify(body)));
}

function withPagination(pagination: Record<string, unknown>) {
  return { ...valid, pagination: { ...valid.pagination, ...pagination } };
}

/** Asserts a rejection with an issue at `path` (and, when given, a message matching `message`). */
function expectRejectedAt(body: unknown, path: (string | number)[], message?: RegExp, maxShowNumber?: number) {
  const r = parse(body, maxShowNumber);
  expect(r.success, JSON.stringify(body)).toBe(false);
  if (r.success) return;
  const issue = r.error.issues.find((i) => JSON.stringify(i.path) === JSON.stringify(path));
  expect(issue, `issues: ${JSON.stringify(r.error.issues)}`).toBeDefined();
  if (message) expect(issue!.message).toMatch(message);
}

describe('GetJoinedGroupListReq accepts', () => {
  it('a plain first page', () => {
    const r = parse(valid);
    expect(r.success).toBe(true);
    if (r.success) expect(r.data).toEqual(valid);
  });

  it('showNumber 0 (no groups, only the total)', () => {
    expect(parse(withPagination({ showNumber: 0 })).success).toBe(true);
  });

  it('showNumber exactly at the default maximum', () => {
    expect(parse(withPagination({ showNumber: DEFAULT_MAX_SHOW_NUMBER })).success).toBe(true);
  });

  it('pageNumber at int32 max', () => {
    expect(parse(withPagination({ pageNumber: INT32_MAX })).success).toBe(true);
  });

  it('a whole number written with an exponent (JSON 1e1 is the number 10)', () => {
    const r = GetJoinedGroupListReq().safeParse(
      JSON.parse('{"fromUserID":"u1","pagination":{"pageNumber":1,"showNumber":1e1}}'),
    );
    expect(r.success).toBe(true);
    if (r.success) expect(r.data.pagination.showNumber).toBe(10);
  });

  it('showNumber up to a configured maximum other than the default', () => {
    expect(parse(withPagination({ showNumber: 5000 }), 5000).success).toBe(true);
  });
});

describe('GetJoinedGroupListReq rejects', () => {
  it.each([
    ['pageNumber as a string', { pageNumber: '1' }, ['pagination', 'pageNumber']],
    ['showNumber as a string', { showNumber: '10' }, ['pagination', 'showNumber']],
    ['pageNumber fractional', { pageNumber: 1.5 }, ['pagination', 'pageNumber']],
    ['showNumber fractional', { showNumber: 2.5 }, ['pagination', 'showNumber']],
    ['pageNumber beyond int32', { pageNumber: INT32_MAX + 1 }, ['pagination', 'pageNumber']],
    ['showNumber beyond int32', { showNumber: 2 ** 40 }, ['pagination', 'showNumber']],
    ['pageNumber negative', { pageNumber: -1 }, ['pagination', 'pageNumber']],
    ['showNumber negative', { showNumber: -1 }, ['pagination', 'showNumber']],
    ['pageNumber null', { pageNumber: null }, ['pagination', 'pageNumber']],
    ['pageNumber a boolean', { pageNumber: true }, ['pagination', 'pageNumber']],
  ] as const)('%s', (_, pagination, path) => {
    expectRejectedAt(withPagination(pagination), [...path]);
  });

  it('pageNumber 0, because pages are 1-based', () => {
    expectRejectedAt(withPagination({ pageNumber: 0 }), ['pagination', 'pageNumber'], /1-based/);
  });

  it('showNumber over the default maximum, naming the limit', () => {
    expectRejectedAt(
      withPagination({ showNumber: DEFAULT_MAX_SHOW_NUMBER + 1 }),
      ['pagination', 'showNumber'],
      new RegExp(`<= ${DEFAULT_MAX_SHOW_NUMBER}`),
    );
  });

  it('showNumber over a configured maximum, naming that limit', () => {
    expectRejectedAt(withPagination({ showNumber: 51 }), ['pagination', 'showNumber'], /<= 50/, 50);
  });

  it('an unknown top-level field', () => {
    const r = parse({ ...valid, groupIDs: [] });
    expect(r.success).toBe(false);
    if (!r.success) expect(JSON.stringify(r.error.issues)).toMatch(/groupIDs/);
  });

  it('an unknown field inside pagination', () => {
    const r = parse(withPagination({ sortBy: 'name' }));
    expect(r.success).toBe(false);
    if (!r.success) expect(JSON.stringify(r.error.issues)).toMatch(/sortBy/);
  });

  it('an empty fromUserID', () => {
    expectRejectedAt({ ...valid, fromUserID: '' }, ['fromUserID'], /empty/);
  });

  it('a missing fromUserID', () => {
    expectRejectedAt({ pagination: valid.pagination }, ['fromUserID']);
  });

  it('a numeric fromUserID', () => {
    expectRejectedAt({ ...valid, fromUserID: 3517105008 }, ['fromUserID']);
  });

  it.each(['a:b', 'a{b', 'a}b', 'a\nb', 'u'.repeat(65)])('fromUserID %j (it would break the Redis key)', (fromUserID) => {
    expectRejectedAt({ ...valid, fromUserID }, ['fromUserID']);
  });

  it('a missing pagination', () => {
    expectRejectedAt({ fromUserID: valid.fromUserID }, ['pagination']);
  });

  it('a pagination without showNumber', () => {
    expectRejectedAt({ ...valid, pagination: { pageNumber: 1 } }, ['pagination', 'showNumber']);
  });

  it('a pagination without pageNumber', () => {
    expectRejectedAt({ ...valid, pagination: { showNumber: 10 } }, ['pagination', 'pageNumber']);
  });

  it('a body that is not an object', () => {
    expect(parse([valid]).success).toBe(false);
    expect(parse(null).success).toBe(false);
  });
});

describe('quickJoinedGroupListReq (the hot route fast path) agrees with GetJoinedGroupListReq', () => {
  const id = fc.oneof(
    fc.string({ minLength: 1, maxLength: 64 }),
    fc.string({ maxLength: 80, unit: 'binary' }),
    fc.constantFrom('', 'u1', 'a{b', 'a}b', 'a:b', 'a\u0000b', 'a\u007fb', '\ud800', 'x\udfff', 'ok\ud83d\ude00', 'x'.repeat(64), 'x'.repeat(65)),
  );
  const int = fc.oneof(
    fc.integer({ min: -5, max: 1100 }),
    fc.constantFrom(0, -0, 1, 999, 1000, 1001, INT32_MAX, INT32_MAX + 1, -(2 ** 31), 2 ** 53, 1.5, 1e1, Number.MAX_VALUE),
  );
  const junk = fc.constantFrom(null, true, 'x', '1', [], {}, [1]);
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: junk });
  const pagination = fc.oneof(
    { weight: 6, arbitrary: fc.record({ pageNumber: maybe(int), showNumber: maybe(int) }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.record({ pageNumber: int, showNumber: int, extra: junk }) },
    { weight: 1, arbitrary: junk },
  );
  const body = fc.oneof(
    { weight: 8, arbitrary: fc.record({ fromUserID: maybe(id), pagination }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.record({ fromUserID: id, pagination, extra: junk }) },
    { weight: 1, arbitrary: junk },
  );

  it('accepts exactly what the schema accepts, with the same value (bodies as JSON.parse gives them)', () => {
    const schemas = new Map([1000, 5000, 10].map((max) => [max, GetJoinedGroupListReq(max)]));
    let accepted = 0;
    fc.assert(
      fc.property(body, fc.constantFrom(1000, 5000, 10), (raw, max) => {
        const input: unknown = JSON.parse(JSON.stringify(raw));
        const quick = quickJoinedGroupListReq(input, max);
        const full = schemas.get(max)!.safeParse(input);
        expect(quick !== undefined, JSON.stringify(raw)).toBe(full.success);
        if (full.success) {
          accepted++;
          expect(quick).toStrictEqual(full.data);
        }
      }),
      { numRuns: 20_000, seed: 20261127 },
    );
    // The generator reaches both sides.
    expect(accepted).toBeGreaterThan(500);
  });
});
