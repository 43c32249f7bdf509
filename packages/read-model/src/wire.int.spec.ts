import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MemberRow, Op } from './evolve.js';
import { WIRE_ECHO as echo } from './test-helpers.js';
import { encodeEvent, memberDetail, STORED_FIELDS, WIRE, type Operand, type WireHead } from './wire.js';
import type { RedisClient } from './redis-client.js';
import { testRedis } from './redis.test-helpers.js';

/**
 * The wire has one definition (wire.ts WIRE): TypeScript writes it, and Redis'
 * own Lua reads it back (lua/lib/wire.lua walking the rendered table). Every
 * operation, with any strings, must come back as it was written.
 */

let redis: RedisClient;
beforeAll(() => {
  redis = testRedis(inject('testEnv'));
});
afterAll(() => redis.quit());

const text = fc.string({ maxLength: 12, unit: 'grapheme' });
const member: fc.Arbitrary<MemberRow> = fc.record({
  userID: text,
  roleLevel: fc.constantFrom('20', '60', '100'),
  joinTime: fc.nat().map(String),
  joinSource: fc.constantFrom('0', '1', '2', '3', '4'),
  inviterUserID: text,
  operatorUserID: text,
});
const fields = fc.dictionary(fc.constantFrom(...STORED_FIELDS), text);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), fields, members: fc.array(member, { maxLength: 4 }) }),
  fc.record({ op: fc.constant('patch' as const), fields }),
  fc.record({ op: fc.constant('status' as const), status: fc.constantFrom('0', '1', '3') }),
  fc.record({ op: fc.constant('transfer' as const), from: text, to: text }),
  fc.record({ op: fc.constant('dismiss' as const) }),
  fc.record({ op: fc.constant('join' as const), members: fc.array(member, { maxLength: 4 }) }),
  fc.record({ op: fc.constant('leave' as const), userIDs: fc.array(text, { maxLength: 4 }) }),
  fc.record({ op: fc.constant('role' as const), userID: text, role: fc.constantFrom('20', '60') }),
  fc.record({
    op: fc.constant('snapshot' as const),
    fields,
    members: fc.array(member, { maxLength: 4 }),
    part: fc.integer({ min: 1, max: 9 }).map(String),
    parts: fc.integer({ min: 1, max: 9 }).map(String),
  }),
);
const head: fc.Arbitrary<WireHead> = fc.record({
  groupID: text,
  offset: fc.nat().map(String),
  key: text,
  seq: fc.oneof(fc.constant(''), fc.nat().map(String)),
});

/** What lib/wire.lua gives back for `op`, as cjson prints it (an empty Lua table is `{}`). */
function decoded(h: WireHead, o: Op): Record<string, unknown> {
  const out: Record<string, unknown> = { op: o.op, ...h };
  const values = o as unknown as Record<string, unknown>;
  const list = (xs: unknown[]) => (xs.length === 0 ? {} : xs);
  for (const operand of WIRE[o.op].operands as readonly Operand[]) {
    const v = values[operand.name];
    if (operand.kind === 'record') {
      const given = v as Record<string, string>;
      out[operand.name] = Object.fromEntries(operand.fields.map((f, i) => [f, given[f] ?? operand.defaults[i]]));
    } else if (operand.kind === 'members') {
      out[operand.name] = list((v as MemberRow[]).map((m) => ({ userID: m.userID, detail: memberDetail(m), joinTime: m.joinTime })));
    } else if (operand.kind === 'strings') {
      out[operand.name] = list(v as string[]);
    } else {
      out[operand.name] = v;
    }
  }
  return out;
}

describe('the wire between wire.ts and lib/wire.lua', () => {
  it('gives back every operation with its operands as TypeScript wrote them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(head, op), { minLength: 1, maxLength: 8 }), async (events) => {
        const wire: string[] = [];
        for (const [h, o] of events) encodeEvent(wire, h, o);
        const back = JSON.parse((await echo.run(redis, [], [JSON.stringify(wire)])) as string) as unknown[];
        expect(back).toEqual(events.map(([h, o]) => decoded(h, o)));
      }),
      { numRuns: 200 },
    );
  });

  it('has a distinct one-letter code per operation', () => {
    const codes = Object.values(WIRE).map((s) => s.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^[a-z]$/);
  });

  it('refuses an unknown code instead of reading past it', async () => {
    await expect(echo.run(redis, [], [JSON.stringify(['x', 'g', '1', 'k'])])).rejects.toThrow(/unknown op x/);
  });
});
