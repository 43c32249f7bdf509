import { hash } from 'node:crypto';
import { GROUP_INFO_FIELDS, NUMERIC_GROUP_FIELDS } from '@imgroups/contracts';
import type { MemberRow, Op, OpName } from './evolve.js';

/**
 * The one definition of how an operation travels from TypeScript to the
 * apply script. `WIRE` below says, per operation, its one-letter code and its
 * operands in order; `encodeEvent()` writes an operation by walking it, and
 * `luaWireSpec()` renders the same table into Lua, where `lua/lib/wire.lua`
 * reads events back by walking it too. Neither side spells a position: add
 * an operand here and both sides follow (wire.int.spec.ts round-trips every
 * operation through Redis' own Lua to prove it).
 *
 * On the wire a chunk of events is one JSON array of strings, flat: per event
 * its code, the head (WIRE_HEAD), then the operands. Flat, so cjson builds
 * no table per value it does not need, and one argument, where thousands of
 * ARGV cost ioredis (and Redis' parser) about 3 us per event.
 */

/** The stored group fields, in the order the create op carries them: everything in GroupInfo but memberCount (ZCARD). */
export const STORED_FIELDS = GROUP_INFO_FIELDS.filter((f) => f !== 'memberCount');
/** What a stored field absent from an event is written as. */
const STORED_DEFAULTS = STORED_FIELDS.map((f) => (NUMERIC_GROUP_FIELDS.has(f) ? '0' : ''));

/** How an operand is written: how many strings, and what Lua makes of them. */
export type Operand =
  /** one string; Lua: the string */
  | { name: string; kind: 'string' }
  /** one string per named field, in order, no count (an absent field as its default); Lua: a table field -> string */
  | { name: string; kind: 'record'; fields: readonly string[]; defaults: readonly string[] }
  /** a count, then that many strings; Lua: an array of strings */
  | { name: string; kind: 'strings' }
  /** a count, then that many key, value pairs; Lua: a table key -> value */
  | { name: string; kind: 'pairs' }
  /** a count, then that many members (MEMBER_FIELDS each); Lua: an array of tables */
  | { name: string; kind: 'members' };

/**
 * A member on the wire: what the apply script stores for it. `detail` is the
 * member's `minfo` value (memberDetail()).
 */
export const MEMBER_FIELDS = ['userID', 'detail', 'joinTime'] as const;

export const WIRE = {
  create: {
    code: 'c',
    operands: [
      { name: 'fields', kind: 'record', fields: STORED_FIELDS, defaults: STORED_DEFAULTS },
      { name: 'members', kind: 'members' },
    ],
  },
  patch: { code: 'p', operands: [{ name: 'fields', kind: 'pairs' }] },
  status: { code: 's', operands: [{ name: 'status', kind: 'string' }] },
  transfer: {
    code: 't',
    operands: [
      { name: 'from', kind: 'string' },
      { name: 'to', kind: 'string' },
    ],
  },
  dismiss: { code: 'd', operands: [] },
  join: { code: 'j', operands: [{ name: 'members', kind: 'members' }] },
  leave: { code: 'l', operands: [{ name: 'userIDs', kind: 'strings' }] },
  role: {
    code: 'r',
    operands: [
      { name: 'userID', kind: 'string' },
      { name: 'role', kind: 'string' },
    ],
  },
  snapshot: {
    code: 'n',
    operands: [
      { name: 'fields', kind: 'record', fields: STORED_FIELDS, defaults: STORED_DEFAULTS },
      { name: 'members', kind: 'members' },
      { name: 'part', kind: 'string' },
      { name: 'parts', kind: 'string' },
    ],
  },
} as const satisfies Record<OpName, { code: string; operands: readonly Operand[] }>;

/**
 * A member's `minfo` value: `role|joinSource|<inviter bytes>|<inviter><operator>`
 * (e.g. `20|2|2|u1u7`); the inviter's length comes first because both IDs
 * may hold any character. lua/member-page.lua's parse_detail reads it back.
 */
export function memberDetail(m: Pick<MemberRow, 'roleLevel' | 'joinSource' | 'inviterUserID' | 'operatorUserID'>): string {
  return `${m.roleLevel}|${m.joinSource}|${Buffer.byteLength(m.inviterUserID)}|${m.inviterUserID}${m.operatorUserID}`;
}

/**
 * What the dedupe window stores for an event: the first 66 bits of the
 * SHA-1 of its eventID, 11 base64url characters (a UUID is 36). Two of the
 * 128 IDs remembered per group collide with odds of about 128^2 / 2^67 =
 * 1e-16, and eventIDs come from our own producers, not from an adversary;
 * a collision would make an event look re-sent and be skipped.
 */
export function eventKey(eventID: string): string {
  return hash('sha1', eventID, 'base64url').slice(0, 11);
}

/** An event's place on the wire besides its operation. */
export interface WireHead {
  groupID: string;
  offset: string;
  /** eventKey(eventID) */
  key: string;
  /** The source's version (event stream v1.1), '' when the event has none. */
  seq: string;
}
/** The head's fields, in wire order, after the code. */
export const WIRE_HEAD = ['groupID', 'offset', 'key', 'seq'] as const satisfies readonly (keyof WireHead)[];

/** Appends one event to a chunk's wire array. */
export function encodeEvent(out: string[], head: WireHead, op: Op): void {
  const spec = WIRE[op.op];
  out.push(spec.code);
  for (const f of WIRE_HEAD) out.push(head[f]);
  const values = op as unknown as Record<string, unknown>;
  for (const operand of spec.operands as readonly Operand[]) {
    const v = values[operand.name];
    switch (operand.kind) {
      case 'string':
        out.push(v as string);
        break;
      case 'record': {
        const rec = v as Record<string, string>;
        operand.fields.forEach((f, i) => out.push(rec[f] ?? operand.defaults[i]!));
        break;
      }
      case 'strings':
        out.push(String((v as string[]).length), ...(v as string[]));
        break;
      case 'pairs': {
        const entries = Object.entries(v as Record<string, string>);
        out.push(String(entries.length));
        for (const [k, x] of entries) out.push(k, x);
        break;
      }
      case 'members': {
        const members = v as MemberRow[];
        out.push(String(members.length));
        for (const m of members) out.push(m.userID, memberDetail(m), m.joinTime);
        break;
      }
    }
  }
}

const luaString = (s: string) => `'${s}'`;

/**
 * `WIRE` as a Lua table, prepended to the scripts that read the wire:
 * `WIRE_OPS[code] = {op = name, operands = {{kind, name, fields?}, ...}}`,
 * `WIRE_HEAD` and `MEMBER_FIELDS`. Data only: the reading is lua/lib/wire.lua's.
 */
export function luaWireSpec(): string {
  const ops = Object.entries(WIRE).map(([name, spec]) => {
    const operands = (spec.operands as readonly Operand[]).map((o) => {
      const fields = o.kind === 'record' ? `, fields = {${o.fields.map(luaString).join(', ')}}` : '';
      return `{kind = '${o.kind}', name = '${o.name}'${fields}}`;
    });
    return `  ${spec.code} = {op = '${name}', operands = {${operands.join(', ')}}},`;
  });
  return [
    'local WIRE_OPS = {',
    ...ops,
    '}',
    `local WIRE_HEAD = {${WIRE_HEAD.map(luaString).join(', ')}}`,
    `local MEMBER_FIELDS = {${MEMBER_FIELDS.map(luaString).join(', ')}}`,
  ].join('\n');
}
