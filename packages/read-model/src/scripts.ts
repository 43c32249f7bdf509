import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GROUP_INFO_FIELDS, NUMERIC_GROUP_FIELDS } from '@imgroups/contracts';
import type { RedisClient } from './redis-client.js';
import { luaWireSpec } from './wire.js';

/**
 * The Lua scripts, read from packages/read-model/lua/*.lua at start and
 * assembled here. A script is its .lua file after the parts it uses:
 *
 * - rendered from TypeScript, data only, so each layout exists once: GROUP_FIELDS / NUMERIC_FIELDS (contracts' GroupInfo
 *   fields, for the card), WIRE_OPS (wire.ts, for reading the events);
 * - shared Lua from lua/lib/: writes.lua (W, how the apply script writes),
 *   log.lua (the version logs), log-put.lua (writing them), card.lua, wire.lua, member.lua (a member's
 *   JSON).
 *
 * A script builds no key name: it reads and writes only the keys its caller
 * passes as KEYS, all in one hash slot, and the read scripts are given the
 * generation's versionID in ARGV; the caller chose the generation
 * (active-generation.ts) and so the keys.
 *
 * `pnpm lint:lua` runs `luac -p` over every file and every assembled script.
 */

/** lua/ beside src/ and dist/, so the same path works from either. */
const LUA_DIR = new URL('../lua/', import.meta.url);

export const luaFile = (path: string): string => readFileSync(new URL(path, LUA_DIR), 'utf8');

const luaString = (s: string) => `'${s}'`;

/** GroupInfo's fields in card order, and which of them are numbers: the data lib/card.lua reads. */
function luaGroupFields(): string {
  const numeric = GROUP_INFO_FIELDS.filter((f) => NUMERIC_GROUP_FIELDS.has(f));
  return [
    `local GROUP_FIELDS = {${GROUP_INFO_FIELDS.map(luaString).join(', ')}}`,
    `local NUMERIC_FIELDS = {${numeric.map((f) => `${f} = true`).join(', ')}}`,
  ].join('\n');
}

/** The parts a script can be assembled from, each with a name for its banner. */
export const LUA_PARTS = {
  groupFields: () => luaGroupFields(),
  wireSpec: () => luaWireSpec(),
  writes: () => luaFile('lib/writes.lua'),
  log: () => luaFile('lib/log.lua'),
  logPut: () => luaFile('lib/log-put.lua'),
  card: () => luaFile('lib/card.lua'),
  wire: () => luaFile('lib/wire.lua'),
  member: () => luaFile('lib/member.lua'),
  applyState: () => luaFile('apply/state.lua'),
  applyMembers: () => luaFile('apply/members.lua'),
  applySnapshot: () => luaFile('apply/snapshot.lua'),
} as const;
export type LuaPart = keyof typeof LUA_PARTS;

/**
 * A script: the named parts, in order, then lua/<name>.lua. `instead` gives
 * a part another source (the test harness's crash-after.lua for `writes`).
 */
export function assembleScript(name: string, parts: readonly LuaPart[], instead: Partial<Record<LuaPart, string>> = {}): string {
  const part = (p: LuaPart) => `-- ${p}\n${instead[p] ?? LUA_PARTS[p]()}`;
  return [...parts.map(part), `-- ${name}.lua\n${luaFile(`${name}.lua`)}`].join('\n');
}

/** The apply script's parts. */
export const APPLY_PARTS: readonly LuaPart[] = [
  'groupFields',
  'wireSpec',
  'writes',
  'log',
  'logPut',
  'card',
  'wire',
  // apply.lua in parts, in order (each its own file, so none is long): see apply.lua's header.
  'applyState',
  'applyMembers',
  'applySnapshot',
];

/** The users' side of a chunk (apply-user.lua): writes and the version logs. */
export const APPLY_USER_PARTS: readonly LuaPart[] = ['writes', 'log', 'logPut'];

/** The sync read scripts' parts: the version logs and a member's JSON (the versionID comes in ARGV). */
const SYNC_PARTS: readonly LuaPart[] = ['log', 'member'];

/** A Lua script run by EVALSHA, loaded on first use or after a Redis restart (NOSCRIPT). */
export class LuaScript {
  readonly sha: string;
  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Every key the script touches is in `keys` (KEYS), all in one hash slot
   * (keys.ts): on a Redis Cluster the call goes to the node of that slot.
   */
  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    onScriptCall?.(this.name, keys);
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (isNoScript(err)) return redis.eval(this.source, keys.length, ...keys, ...args);
      throw err;
    }
  }

  /** As run(), with bulk strings in the reply as Buffers (integers stay numbers): no UTF-8 decoding. */
  async runBuffer(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    onScriptCall?.(this.name, keys);
    try {
      return await redis.callBuffer('EVALSHA', this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (isNoScript(err)) return redis.callBuffer('EVAL', this.source, keys.length, ...keys, ...args);
      throw err;
    }
  }
}

/**
 * Test hook: called with every script call's name and keys before it is sent
 * (the slot test records them; test-helpers.ts recordScriptCalls). Unset in
 * production.
 */
let onScriptCall: ((name: string, keys: readonly string[]) => void) | undefined;
export function setScriptCallObserver(observer: ((name: string, keys: readonly string[]) => void) | undefined): void {
  onScriptCall = observer;
}

const isNoScript = (err: unknown) => err instanceof Error && err.message.startsWith('NOSCRIPT');

const script = (name: string, parts: readonly LuaPart[] = []) => new LuaScript(name, assembleScript(name, parts));

/** Every production script, assembled once at start. */
export const SCRIPTS = {
  apply: script('apply', APPLY_PARTS),
  applyUser: script('apply-user', APPLY_USER_PARTS),
  checkpoint: script('checkpoint'),
  page: script('page'),
  memberPage: script('member-page', ['member']),
  joinedIds: script('joined-ids', SYNC_PARTS),
  syncJoins: script('sync-joins', SYNC_PARTS),
  syncMembers: script('sync-members', SYNC_PARTS),
  memberIds: script('member-ids', SYNC_PARTS),
  flip: script('flip'),
  lock: script('lock'),
} as const;
