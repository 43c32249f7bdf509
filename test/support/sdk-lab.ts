import { isDeepStrictEqual } from 'node:util';
import { loadConfig } from '@imgroups/config';
import { decodeEvent, type GroupEvent } from '@imgroups/contracts';
import { build } from '@imgroups/query-api';
import { ReadModel, type Outcome, type PositionedEvent, type RedisClient } from '@imgroups/read-model';
import { ReferenceModel } from '@imgroups/read-model/test-helpers';
import { unlinkMatching } from '@imgroups/read-model/test-redis';
import { openImToken, uniqueId, type RawGroupEvent } from '@imgroups/testing';
import type { FastifyInstance } from 'fastify';
import { SdkClient, type Post } from './sdk-client.js';
import { EventMaker, type Step } from './sdk-history.js';
import { changesOf, FullRules, viewOf } from './sdk-rules.js';

/**
 * One history of the SDK-flow property test: a key root of its own in the
 * suite's Redis, the query API built in-process on it (app.inject, as the
 * query API's World does), events written with ReadModel.apply on one
 * partition (decodeEvent, then apply with offsets; the projector's Kafka path
 * is covered elsewhere), the reference model fed the same deliveries, and
 * the SDK clients of the first users. After every sync the client's copy is
 * held against the projection and its full answers against the rules.
 */

const SECRET = 'sdk-sync-secret';
const ADMIN = 'imAdmin';
/** The dedupe window: histories are far shorter, so a re-sent event is always caught. */
const WINDOW = 128;

export interface LabStats {
  events: number;
  redeliveries: number;
  rebuilds: number;
  syncs: number;
  joinFull: number;
  memberFull: number;
  /** Answers not full that changed something. */
  incremental: number;
  /** Batch answers cut short by the 500-change bound. */
  bounded: number;
  /** Full answers by the rule that demanded them. */
  reasons: Record<string, number>;
}

export const emptyStats = (): LabStats => ({
  events: 0,
  redeliveries: 0,
  rebuilds: 0,
  syncs: 0,
  joinFull: 0,
  memberFull: 0,
  incremental: 0,
  bounded: 0,
  reasons: {},
});

export class SdkLab {
  readonly root = uniqueId('sdk');
  readonly model = new ReferenceModel(WINDOW);
  readonly rules: FullRules;
  readonly maker: EventMaker;
  readonly clients: SdkClient[];
  /** Differences found, each a line; the history fails on the first sync that finds any. */
  readonly mismatches: string[] = [];
  /** Full answers the rules did not demand, and answers that were not full where they did. */
  readonly unexpected: string[] = [];
  /** Every message so far, in offset order (the topic): what a rebuild replays. */
  private readonly messages: PositionedEvent[] = [];
  private readonly rm: ReadModel;
  private app?: FastifyInstance;
  private gen = 0;
  private offset = 0;
  private ops = 0;
  private readonly admin: Post;

  /** Deliveries not yet applied to Redis (the model has them): one batch of the partition. */
  private pending: { positioned: PositionedEvent; want: Outcome }[] = [];

  /**
   * `delivery.batch`: events are applied in batches (everything between two
   * syncs, in offset order, as a consumer's batch) in apply calls of
   * `delivery.chunk` events; else one event per call.
   */
  constructor(
    readonly redis: RedisClient,
    /** How the services find `redis`: REDIS_URL (and REDIS_CLUSTER_NODES), testing's redisVars. */
    readonly redisVars: Record<string, string>,
    readonly logMax: number,
    readonly stats: LabStats,
    readonly delivery: { batch: boolean; chunk: number } = { batch: false, chunk: 1 },
  ) {
    this.rm = new ReadModel(redis, { root: this.root, dedupeWindow: WINDOW, syncLogMax: logMax, chunkSize: delivery.chunk });
    this.rules = new FullRules(logMax);
    this.maker = new EventMaker(`${this.root.slice(3)}`);
    this.clients = this.maker.clients.map((u) => new SdkClient(u, this.poster(u)));
    this.admin = this.poster(ADMIN);
  }

  async open(): Promise<this> {
    this.gen = await this.rm.generations.ensureActive();
    const config = loadConfig({
      ...this.redisVars,
      REDIS_KEY_PREFIX: this.root,
      LOG_LEVEL: 'silent',
      OPENIM_SECRET: SECRET,
      ADMIN_USER_IDS: ADMIN,
      DEDUPE_WINDOW: String(WINDOW),
      SYNC_LOG_MAX: String(this.logMax),
    });
    // The rules expect a rebuild step's switch to be seen by the next sync (the 250 ms of a
    // production API process are the rebuild e2e's business).
    this.app = await build({ config, redis: this.redis, logger: false, activeTtlMs: 0 });
    return this;
  }

  async close(): Promise<void> {
    await this.app?.close();
    this.pending = [];
    // This history's keys only: the Redis is shared.
    await unlinkMatching(this.redis, `${this.root}:*`);
  }

  async run(step: Step): Promise<void> {
    switch (step.kind) {
      case 'sync':
        return this.sync(this.clients[step.client % this.clients.length]!);
      case 'rebuild':
        return this.rebuild();
      case 'redeliver': {
        if (this.messages.length === 0) return;
        const m = this.messages[this.messages.length - 1 - (step.back % this.messages.length)]!;
        this.stats.redeliveries++;
        // The same message read again (a consumer's retry, in a batch of its own), or the producer's re-send: a new message.
        if (!step.sameOffset) return this.deliver(m.event);
        await this.flush();
        this.deliver(m.event, Number(m.offset));
        return this.flush();
      }
      default:
        for (const raw of this.maker.events(step, this.model) ?? []) this.deliver(decode(raw));
        if (!this.delivery.batch) await this.flush();
    }
  }

  /** One delivery of an event: to the model now, to Redis with the batch; `offset` given: a redelivery of that message. */
  private deliver(event: GroupEvent, offset?: number): void {
    const at = offset ?? ++this.offset;
    const positioned = { offset: String(at), event };
    if (offset === undefined) this.messages.push(positioned);
    const before = viewOf(this.model, event.groupID);
    this.pending.push({ positioned, want: this.model.deliver(at, event) });
    this.rules.record(event.groupID, changesOf(before, viewOf(this.model, event.groupID)));
    this.stats.events++;
  }

  /** Apply the pending batch to the active generation, its last offset as the checkpoint. */
  async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const last = batch[batch.length - 1]!.positioned.offset;
    const got = await this.rm.apply(this.gen, 0, batch.map((b) => b.positioned), last);
    batch.forEach(({ positioned: { offset, event }, want }, i) => {
      if (got[i] !== want) this.mismatches.push(`${event.type} ${event.groupID} at ${offset}: projection says ${got[i]}, model ${want}`);
    });
  }

  /** Replay every message into a new generation and make it active (as `pnpm rebuild` does, without Kafka). */
  private async rebuild(): Promise<void> {
    await this.flush();
    const gens = this.rm.generations;
    const next = await gens.nextGeneration();
    await gens.startRebuild({ generation: next, consumerGroup: `${this.root}-rebuild`, startedAt: Date.now() });
    if (this.messages.length) await this.rm.apply(next, 0, this.messages, String(this.offset));
    const flipped = await gens.flip({ from: this.gen, to: next });
    if (!flipped.ok) throw new Error(`rebuild: the switch failed: ${JSON.stringify(flipped)}`);
    this.gen = next;
    this.rules.rebuilt();
    this.stats.rebuilds++;
  }

  private async sync(client: SdkClient): Promise<void> {
    await this.flush();
    const u = client.userID;
    const joinRule = this.rules.joinFull(u);
    const report = await client.sync();
    this.stats.syncs++;
    this.stats.bounded += report.bounded;
    this.stats.incremental += report.incremental;
    const judge = (what: string, full: boolean, rule: string | null) => {
      const key = `${what.split(' ')[0]}: ${rule ?? 'unexpected'}`;
      if (full) this.stats.reasons[key] = (this.stats.reasons[key] ?? 0) + 1;
      if (full !== (rule !== null)) this.unexpected.push(`${u}: ${what} answered ${full ? 'full' : 'incrementally'}; the rules say ${rule ?? 'incremental'}`);
    };
    judge('join sync', report.joinFull, joinRule);
    if (report.joinFull) this.stats.joinFull++;
    for (const [groupID, { known }] of report.asked) {
      judge(`member sync of ${groupID}`, report.memberFull.includes(groupID), this.rules.memberFull(u, groupID, known));
    }
    this.stats.memberFull += report.memberFull.length;
    this.rules.synced(u, client.members.keys());
    this.mismatches.push(...report.problems);
    for (const g of report.leftOut) this.mismatches.push(`${u}: the batch left out ${g}, a live group of the user's`);
    await this.compare(client);
  }

  /** The client's copy against the projection: group IDs and every GroupInfo field; each group's members, whole. */
  private async compare(client: SdkClient): Promise<void> {
    const u = client.userID;
    const want = this.model.joinTimes(u).map(([g]) => g);
    const have = [...client.groups.keys()];
    if (!isDeepStrictEqual([...have].sort(), [...want].sort())) this.mismatches.push(`${u}: groups ${fmt(have)}, projection ${fmt(want)}`);
    for (const groupID of want) {
      const info = client.groups.get(groupID);
      const card = this.model.card(groupID);
      if (info && !isDeepStrictEqual(info, card)) this.mismatches.push(`${u}: ${groupID} info ${JSON.stringify(info)}, projection ${JSON.stringify(card)}`);
      const local = client.members.get(groupID);
      if (!local) {
        this.mismatches.push(`${u}: no members of ${groupID}`);
        continue;
      }
      const members = await this.memberList(groupID);
      const g = this.model.groups.get(groupID)!;
      const model = [...g.members].map(([id, m]) => `${id}:${m.role}:${m.joinTime}`).sort();
      const api = [...members.values()].map((m) => `${m.userID}:${m.roleLevel}:${m.joinTime}`).sort();
      const mine = [...local.members.values()].map((m) => `${m.userID}:${m.roleLevel}:${String(m.joinTime)}`).sort();
      if (!isDeepStrictEqual(mine, model)) this.mismatches.push(`${u}: ${groupID} members ${fmt(mine)}, projection ${fmt(model)}`);
      if (!isDeepStrictEqual(api, model)) this.mismatches.push(`${groupID}: get_group_member_list ${fmt(api)}, model ${fmt(model)}`);
      for (const [id, m] of local.members) {
        const there = members.get(id);
        if (there && !isDeepStrictEqual(m, there)) this.mismatches.push(`${u}: ${groupID} member ${JSON.stringify(m)}, projection ${JSON.stringify(there)}`);
      }
    }
  }

  private async memberList(groupID: string): Promise<Map<string, any>> {
    const out = new Map<string, any>();
    for (let page = 1; ; page++) {
      const p = await this.admin('/group/get_group_member_list', { groupID, pagination: { pageNumber: page, showNumber: 1000 } });
      for (const m of p.members) out.set(m.userID, m);
      if (p.members.length < 1000) return out;
    }
  }

  private poster(userID: string): Post {
    const token = openImToken(SECRET, userID);
    return async (url, payload) => {
      const res = await this.app!.inject({ method: 'POST', url, headers: { operationID: `op${++this.ops}`, token }, payload });
      const body = res.json();
      if (res.statusCode !== 200 || body.errCode !== 0) throw new Error(`${url} as ${userID}: HTTP ${res.statusCode} ${res.body}`);
      return body.data;
    };
  }
}

function decode(raw: RawGroupEvent): GroupEvent {
  const decoded = decodeEvent(JSON.stringify(raw));
  if (!decoded.ok) throw new Error(`history made an invalid event: ${decoded.reason}`);
  return decoded.event as GroupEvent;
}

const fmt = (xs: readonly string[]) => `[${xs.join(' ')}]`;
