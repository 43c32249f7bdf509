/**
 * Test helpers (left out of dist, imported as '@imgroups/read-model/test-helpers'
 * by tests only; the dependency rules keep production code away):
 * ReferenceModel, the read model's rules written plainly; a check of what a
 * stream left in Redis against it, through the package's public API as its
 * users read it; the fault-injecting variant of the apply script and the
 * wire's echo script.
 */
import { decodeEvent, type GroupEvent } from '@imgroups/contracts';
import { Applier } from './apply.js';
import type { ReadModel } from './index.js';
import { APPLY_PARTS, APPLY_USER_PARTS, assembleScript, LuaScript, luaFile } from './scripts.js';
import { ReferenceModel, type GroupCard } from './reference-model.js';

export { ReferenceModel, type GroupCard };

/**
 * The model of a stream of raw events (as producers send them) applied
 * exactly once, in order (re-sends handled by the dedupe window).
 */
export function modelOf(events: readonly object[], dedupeWindow: number): ReferenceModel {
  const model = new ReferenceModel(dedupeWindow);
  events.forEach((raw, offset) => {
    const decoded = decodeEvent(JSON.stringify(raw));
    if (!decoded.ok) throw new Error(`history produced an invalid event: ${decoded.reason}`);
    model.deliver(offset, decoded.event as GroupEvent);
  });
  return model;
}

export interface ProjectionDiff {
  /** Memberships the model has and Redis lacks, plus events whose effect is missing (an older value). */
  lost: number;
  /** Memberships Redis has and the model does not (a resurrected member: an old event applied again). */
  duplicated: number;
  /** Cards (fields, memberCount) or list order that differ. */
  mismatched: number;
  /** The first few differences, for the failure message. */
  examples: string[];
  users: number;
  groups: number;
  memberships: number;
}

/**
 * Compare the active generation with the model, through the same page reads
 * the API uses: every user's whole list (order, total, every field,
 * memberCount) and every group's card.
 */
export async function diffProjection(
  readModel: ReadModel,
  model: ReferenceModel,
  userIDs: string[],
): Promise<ProjectionDiff> {
  const diff: ProjectionDiff = { lost: 0, duplicated: 0, mismatched: 0, examples: [], users: userIDs.length, groups: 0, memberships: 0 };
  const note = (s: string) => {
    if (diff.examples.length < 10) diff.examples.push(s);
  };
  const cards = new Map<string, GroupCard>();
  for (const userID of userIDs) {
    const page = await readModel.readPage(userID, 0, 1_000_000);
    const got = JSON.parse(`[${page.groupsJson}]`) as GroupCard[];
    const want = model.list(userID);
    diff.memberships += want.length;
    const gotIds = got.map((g) => String(g.groupID));
    const wantIds = want.map((g) => String(g.groupID));
    for (const id of wantIds) if (!gotIds.includes(id)) {
      diff.lost++;
      note(`${userID} lost ${id}`);
    }
    for (const id of gotIds) if (!wantIds.includes(id)) {
      diff.duplicated++;
      note(`${userID} has ${id} the model does not`);
    }
    if (page.total !== got.length) {
      diff.mismatched++;
      note(`${userID}: total ${page.total} but ${got.length} groups`);
    }
    const common = wantIds.filter((id) => gotIds.includes(id));
    const gotOrder = gotIds.filter((id) => common.includes(id));
    if (JSON.stringify(gotOrder) !== JSON.stringify(common)) {
      diff.mismatched++;
      note(`${userID} order ${gotOrder.join()} != ${common.join()}`);
    }
    for (const g of got) cards.set(String(g.groupID), g);
    for (const g of want) {
      const id = String(g.groupID);
      const mine = got.find((x) => x.groupID === id);
      if (mine && JSON.stringify(mine) !== JSON.stringify(g)) {
        diff.mismatched++;
        note(`${userID}/${id}: ${JSON.stringify(mine)} != ${JSON.stringify(g)}`);
      }
    }
  }
  diff.groups = cards.size;
  return diff;
}

/**
 * lua/apply.lua and lua/apply-user.lua assembled with lua/test/crash-after.lua
 * in place of lib/writes.lua: a call fails after N writes (its last argument),
 * keeping them, as a Redis error half-way (out of memory) would. The
 * production scripts carry no test hook.
 */
const crashAfter = { writes: luaFile('test/crash-after.lua') };
export const CRASHING_APPLY = new LuaScript('apply+crash-after', assembleScript('apply', APPLY_PARTS, crashAfter));
export const CRASHING_APPLY_USER = new LuaScript('apply-user+crash-after', assembleScript('apply-user', APPLY_USER_PARTS, crashAfter));

/** lua/test/wire-echo.lua: the events of a wire as lib/wire.lua reads them, as JSON. */
export const WIRE_ECHO = new LuaScript('wire-echo', assembleScript('test/wire-echo', ['wireSpec', 'wire']));

/**
 * An Applier whose every chunk fails after `writes` writes in all (the error
 * says INJECTED): its calls run one at a time, each told how many writes are
 * left of the budget and answering how many it made.
 */
export function crashingApplier(rm: ReadModel, writes: number): Applier {
  let left = writes;
  let first = true;
  return new Applier(rm.redis, rm.options, {
    group: CRASHING_APPLY,
    user: CRASHING_APPLY_USER,
    extraArgs: (call) => {
      if (call === 0 && !first) left = writes; // a new chunk: the budget again
      first = false;
      return [left];
    },
    onReply: (tail) => {
      left -= Number(tail[0]);
    },
  });
}
