/**
 * Every Redis key of the read model, and nothing else, is spelled here.
 *
 * The generation bookkeeping, in one hash slot (tag `{<root>}`), so the
 * generation switch reads and writes it in one call on a Redis Cluster too:
 *
 *   <root>:{<root>}:active               STRING  generation the queries read
 *   <root>:{<root>}:epoch                STRING  16 hex digits drawn when the first generation is made: with the generation, the sync routes' versionID
 *   <root>:<gen>:{<root>}:ckpt           HASH    partition -> last offset applied, every step of it done (status, catch-up, the switch's guard)
 *   <root>:{<root>}:rebuild              HASH    the latest rebuild: generation, status, consumerGroup, startedAt, timings
 *   <root>:{<root>}:rebuild:lock         STRING  held by the running rebuild (SET NX PX, refreshed): who and since when
 *   <root>:{<root>}:retired              SET     generations whose keys are being deleted (SCAN + UNLINK)
 *   <root>:{<root>}:retired:at           HASH    generation -> ms it was retired (the switch): kept whole for a grace period after (generations.ts)
 *   <root>:{<root>}:scratch              ZSET    scratch generations (verify's replay) -> lease expiry ms
 *
 * Per user (tag `{u:<userID>}`, one slot per user):
 *
 *   <root>:<gen>:{u:<userID>}:joined     ZSET    groupID -> joinTime ms (ties sort by groupID)
 *   <root>:<gen>:{u:<userID>}:jlog       ZSET    the user's join log: groupID -> version * 4 + state (1 joined, 2 left); its top entry's version is the user's version
 *
 * Per group (tag `{g:<groupID>}`, one slot per group):
 *
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
 *   <root>:<gen>:{g:<groupID>}:fanout    ZSET    userID -> joinTime, or -1 (left): the users' side of the group's changes not yet known done (apply.ts)
 *
 * Generations are positive integers, never reused (a rebuild takes the highest
 * known + 1), or `verify-<hex>` for a scratch replay that is never activated.
 *
 * Every script call names its keys (KEYS) and they share one tag, so one
 * call touches one slot (docs/operations.md "Redis Cluster"). The generation
 * comes before the tag so a rebuild writes beside the live data and the old
 * generation can be dropped by prefix. IDs never contain `{`, `}` or `:`
 * (contracts/ids.ts), nor does the root (config), so keys are unambiguous.
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
  groupFanout: ['g', 'fanout'],
} as const satisfies Record<string, readonly [Scope, string]>;
export type EntityKey = keyof typeof TEMPLATES;

export interface Keyspace {
  readonly root: string;
  readonly active: string;
  readonly epoch: string;
  readonly rebuild: string;
  readonly retired: string;
  readonly retiredAt: string;
  readonly scratch: string;
  generationPattern(gen: number | string): string;
  checkpoints(gen: number | string): string;
  rebuildLock: string;
  entity(kind: EntityKey, gen: number | string, id: string): string;
}

export function keyspace(root: string): Keyspace {
  const meta = `${root}:{${root}}`;
  return {
    root,
    active: `${meta}:active`,
    epoch: `${meta}:epoch`,
    rebuild: `${meta}:rebuild`,
    retired: `${meta}:retired`,
    retiredAt: `${meta}:retired:at`,
    scratch: `${meta}:scratch`,
    rebuildLock: `${meta}:rebuild:lock`,
    generationPattern: (gen) => `${root}:${gen}:*`,
    checkpoints: (gen) => `${root}:${gen}:{${root}}:ckpt`,
    entity: (kind, gen, id) => {
      const [scope, suffix] = TEMPLATES[kind];
      return `${root}:${gen}:{${scope}:${id}}:${suffix}`;
    },
  };
}

/** A group's keys in the order the group scripts take them as KEYS (lua/lib/group-keys.lua names them). */
export const GROUP_KEYS = [
  'groupInfo',
  'groupCard',
  'groupMembers',
  'groupMemberInfo',
  'groupSeen',
  'groupMemberSeq',
  'groupGone',
  'groupSnapshot',
  'groupSnapshotMembers',
  'groupMemberLog',
  'groupFanout',
] as const satisfies readonly EntityKey[];

/** A user's keys in the order the user scripts take them as KEYS. */
export const USER_KEYS = ['userJoined', 'userJoinLog'] as const satisfies readonly EntityKey[];

export const groupKeys = (ks: Keyspace, gen: number | string, groupID: string): string[] =>
  GROUP_KEYS.map((k) => ks.entity(k, gen, groupID));
export const userKeys = (ks: Keyspace, gen: number | string, userID: string): string[] =>
  USER_KEYS.map((k) => ks.entity(k, gen, userID));

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
