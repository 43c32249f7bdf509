/**
 * Every Redis key of the read model, and nothing else, is spelled here.
 *
 *   <root>:active                        STRING  generation the queries read
 *   <root>:epoch                         STRING  16 hex digits drawn when the first generation is made: with the generation, the sync routes' versionID
 *   <root>:<gen>:{u:<userID>}:joined     ZSET    groupID -> joinTime ms (ties sort by groupID)
 *   <root>:<gen>:{u:<userID>}:jlog       ZSET    the user's join log: groupID -> version * 4 + state (1 joined, 2 left); its top entry's version is the user's version
 *   <root>:<gen>:{g:<groupID>}:info      HASH    status + bookkeeping (_o _p offset, _n _c the card's count, _s, _t tombstone, _q _f _m versions; lua/apply.lua)
 *   <root>:<gen>:{g:<groupID>}:card      STRING  the group's GroupInfo JSON, pre-serialized at write time: the only copy of its fields
 *   <root>:<gen>:{g:<groupID>}:members   ZSET    userID -> joinTime ms (memberCount = ZCARD)
 *   <root>:<gen>:{g:<groupID>}:minfo     HASH    userID -> member detail, role|joinSource|#inviter|inviter operator
 *   <root>:<gen>:{g:<groupID>}:seen      ZSET    event key (eventKey(): 11 chars of SHA-1) -> offset: the dedupe window
 *   <root>:<gen>:{g:<groupID>}:mseq      HASH    member userID -> seq of the last change to that membership (v1.1 events only)
 *   <root>:<gen>:{g:<groupID>}:gone      ZSET    userID -> seq of the leave: tombstones of memberships, the oldest dropped past a bound
 *   <root>:<gen>:{g:<groupID>}:snap      HASH    a snapshot in parts being received: seq, parts, next part
 *   <root>:<gen>:{g:<groupID>}:snapm     HASH    its members so far: userID -> joinTime|member detail
 *   <root>:<gen>:{g:<groupID>}:mlog      ZSET    the group's member log: userID ('' = the group's own info) -> version * 4 + state (1 joined, 2 left, 3 changed)
 *   <root>:<gen>:ckpt                    HASH    partition -> last offset applied (status, catch-up)
 *   <root>:rebuild                       HASH    the latest rebuild: generation, status, consumerGroup, startedAt, timings
 *   <root>:rebuild:lock                  STRING  held by the running rebuild (SET NX PX, refreshed): who and since when
 *   <root>:retired                       SET     generations whose keys are being deleted (SCAN + UNLINK)
 *   <root>:scratch                       ZSET    scratch generations (verify's replay) -> lease expiry ms
 *
 * Generations are positive integers, never reused (a rebuild takes the highest
 * known + 1), or `verify-<hex>` for a scratch replay that is never activated.
 *
 * The `{u:..}` / `{g:..}` hash tags keep each user's and each group's keys in one
 * Redis Cluster slot. The generation comes before the tag so a rebuild writes
 * beside the live data and the old generation can be dropped by prefix.
 * IDs never contain `{`, `}` or `:` (contracts/ids.ts), so keys are unambiguous.
 *
 * Lua scripts build keys from the same templates: `luaKeyFunctions()` renders
 * them, so the layout exists once.
 */

type Scope = 'u' | 'g';
const TEMPLATES = {
  userJoined: ['u', 'joined'],
  userJoinLog: ['u', 'jlog'],
  groupInfo: ['g', 'info'],
  groupCard: ['g', 'card'],
  groupMembers: ['g', 'members'],
  groupMemberInfo: ['g', 'minfo'],
  groupSeen: ['g', 'seen'],
  groupMemberSeq: ['g', 'mseq'],
  groupGone: ['g', 'gone'],
  groupSnapshot: ['g', 'snap'],
  groupSnapshotMembers: ['g', 'snapm'],
  groupMemberLog: ['g', 'mlog'],
} as const satisfies Record<string, readonly [Scope, string]>;
export type EntityKey = keyof typeof TEMPLATES;

export interface Keyspace {
  readonly root: string;
  readonly active: string;
  readonly epoch: string;
  readonly rebuild: string;
  readonly retired: string;
  readonly scratch: string;
  generationPattern(gen: number | string): string;
  checkpoints(gen: number | string): string;
  rebuildLock: string;
  entity(kind: EntityKey, gen: number | string, id: string): string;
}

export function keyspace(root: string): Keyspace {
  return {
    root,
    active: `${root}:active`,
    epoch: `${root}:epoch`,
    rebuild: `${root}:rebuild`,
    retired: `${root}:retired`,
    scratch: `${root}:scratch`,
    rebuildLock: `${root}:rebuild:lock`,
    generationPattern: (gen) => `${root}:${gen}:*`,
    checkpoints: (gen) => `${root}:${gen}:ckpt`,
    entity: (kind, gen, id) => {
      const [scope, suffix] = TEMPLATES[kind];
      return `${root}:${gen}:{${scope}:${id}}:${suffix}`;
    },
  };
}

/**
 * Lua functions `k_<kind>(root, gen, id)` and `k_ckpt(root, gen)` with the
 * layout above, prepended to every script.
 */
export function luaKeyFunctions(): string {
  const lines = Object.entries(TEMPLATES).map(
    ([kind, [scope, suffix]]) =>
      `local function k_${kind}(root, gen, id) return root .. ':' .. gen .. ':{${scope}:' .. id .. '}:${suffix}' end`,
  );
  lines.push(`local function k_ckpt(root, gen) return root .. ':' .. gen .. ':ckpt' end`);
  lines.push(`local function k_active(root) return root .. ':active' end`);
  lines.push(`local function k_epoch(root) return root .. ':epoch' end`);
  return lines.join('\n');
}

/**
 * OpenIM's own key, not the read model's: the status of a user's tokens on one
 * platform, as open-im-server writes it (cachekey.GetTokenKey) in its Redis.
 * A HASH, token -> status (0 normal, 1 invalid, 2 kicked, 3 expired). The
 * query API only reads it (TOKEN_STATUS_CHECK). No prefix, no hash tag: the
 * name must be OpenIM's exactly.
 */
export function openImTokenStatusKey(userID: string, platformName: string): string {
  return `UID_PID_TOKEN_STATUS:${userID}:${platformName}`;
}
