import { generateHistory, type RawGroupEvent } from '@imgroups/testing';
import { prng } from '@imgroups/testing';
import { TextMaker } from './text.js';

/**
 * The apply bench's stream: `events` events of generateHistory's realistic
 * mix (joins, leaves, rejoins, renames, role changes, transfers, rare
 * dismissals, re-sent events, events for unknown groups), over `groups`
 * groups and `users` users, serialized as Kafka delivers them (key = groupID,
 * value = UTF-8 JSON) and spread over partitions by key.
 *
 * generateHistory walks every user and group per event, so one history of
 * 50,000 groups would take hours; the stream is built from independent
 * shards of SHARD_EVENTS events (each over its share of the groups and users,
 * IDs prefixed by shard), interleaved round-robin like concurrent activity.
 * Per group it is the same mix and the same events per group. A user's groups
 * all come from one shard (no effect on the work per event).
 *
 * group.created and notification updates get realistic field sizes
 * (lib/text.ts) in place of the generator's short placeholders.
 */
export interface Message {
  partition: number;
  offset: string;
  key: Buffer;
  value: Buffer;
}

/** What the bare-Lua baseline writes per event: ZADD user set, HSET + HINCRBY group hash. */
export interface BaselineRow {
  groupID: string;
  userID: string;
  score: string;
  field: string;
}

export interface Stream {
  messages: Message[];
  baseline: BaselineRow[];
  partitions: number;
  bytes: number;
}

const SHARD_EVENTS = 500;

/** FNV-1a, for a stable key -> partition mapping (the real producer uses murmur2; any stable hash will do). */
function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

function firstUser(e: RawGroupEvent): string {
  const d = e.data as Record<string, unknown>;
  const members = (d.members as { userID: string }[] | undefined) ?? undefined;
  if (members?.length) return members[0]!.userID;
  const ids = d.userIDs as string[] | undefined;
  if (ids?.length) return ids[0]!;
  return (d.userID as string | undefined) ?? (d.newOwnerUserID as string | undefined) ?? e.operatorUserID;
}

export function buildStream(opts: { events: number; groups: number; users: number; partitions: number; seed: number }): Stream {
  const shards = Math.ceil(opts.events / SHARD_EVENTS);
  const groupsPerShard = Math.max(1, Math.round(opts.groups / shards));
  const usersPerShard = Math.max(2, Math.round(opts.users / shards));
  const text = new TextMaker(prng(opts.seed ^ 0x5bd1e995));
  const perShard: RawGroupEvent[][] = [];
  for (let s = 0; s < shards; s++) {
    const history = generateHistory({
      seed: opts.seed + s,
      events: SHARD_EVENTS,
      groups: groupsPerShard,
      users: usersPerShard,
      prefix: `s${s}-`,
    });
    const realistic = new Map<RawGroupEvent, RawGroupEvent>(); // re-sent events are the same object: keep them identical
    perShard.push(
      history.map((e) => {
        let out = realistic.get(e);
        if (out) return out;
        if (e.type === 'group.created') {
          const group = (e.data as { group: Record<string, unknown> }).group;
          const fields = text.groupFields();
          out = { ...e, data: { ...e.data, group: { ...group, ...fields, groupName: `${group.groupName as string} ${fields.groupName}` } } };
        } else if (e.type === 'group.info_updated' && 'notification' in e.data) {
          out = { ...e, data: { ...e.data, notification: text.words(100, 200) } };
        } else {
          out = e;
        }
        realistic.set(e, out);
        return out;
      }),
    );
  }

  const offsets = new Array<number>(opts.partitions).fill(0);
  const messages: Message[] = [];
  const baseline: BaselineRow[] = [];
  let bytes = 0;
  for (let i = 0; i < SHARD_EVENTS && messages.length < opts.events; i++) {
    for (const shard of perShard) {
      const e = shard[i];
      if (!e || messages.length >= opts.events) continue;
      const partition = partitionOf(e.groupID, opts.partitions);
      const value = Buffer.from(JSON.stringify(e));
      bytes += value.length;
      messages.push({ partition, offset: String(offsets[partition]!++), key: Buffer.from(e.groupID), value });
      baseline.push({ groupID: e.groupID, userID: firstUser(e), score: String(e.occurredAt), field: e.type });
    }
  }
  return { messages, baseline, partitions: opts.partitions, bytes };
}
