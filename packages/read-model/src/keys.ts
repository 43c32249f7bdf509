/**
 * Every Redis key of the read model, and nothing else, is spelled here.
 *
 *   <root>:active                        STRING  generation the queries read
 *   <root>:<gen>:{u:<userID>}:joined     ZSET    groupID -> joinTime ms (ties sort by groupID)
 *   <root>:<gen>:{u:<userID>}:ver        STRING  changes to that set so far (get_full_join_group_ids' version)
 *   <root>:<gen>:{g:<groupID>}:info      HASH    group fields + guard fields (_s status, _o offset)
 *   <root>:<gen>:{g:<groupID>}:card      STRING  the group's GroupInfo JSON, pre-serialized at write time
 *   <root>:<gen>:{g:<groupID>}:members   ZSET    userID -> joinTime ms (memberCount = ZCARD)
 *   <root>:<gen>:{g:<groupID>}:minfo     HASH    userID -> member detail JSON
 *   <root>:<gen>:{g:<groupID>}:seen      ZSET    eventID -> offset: the dedupe window
 *   <root>:<gen>:ckpt                    HASH    partition -> last offset applied (status, catch-up)
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
  userVersion: ['u', 'ver'],
  groupInfo: ['g', 'info'],
  groupCard: ['g', 'card'],
  groupMembers: ['g', 'members'],
  groupMemberInfo: ['g', 'minfo'],
  groupSeen: ['g', 'seen'],
} as const satisfies Record<string, readonly [Scope, string]>;
export type EntityKey = keyof typeof TEMPLATES;

export interface Keyspace {
  readonly root: string;
  readonly active: string;
  generationPattern(gen: number | string): string;
  checkpoints(gen: number | string): string;
  rebuildLock: string;
  entity(kind: EntityKey, gen: number | string, id: string): string;
}

export function keyspace(root: string): Keyspace {
  return {
    root,
    active: `${root}:active`,
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
  return lines.join('\n');
}
