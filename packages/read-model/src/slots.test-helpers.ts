/**
 * The Redis Cluster rule for script calls, checked on what the read model
 * really sends (slots.int.spec.ts): a call names every key it touches (KEYS)
 * and they hash to one slot, so a Cluster client can send it to the one node
 * that holds them all. The checker is pure (slots.unit.spec.ts tests it):
 * the calls come from scripts.ts's setScriptCallObserver.
 */
import calculateSlot from 'cluster-key-slot';

export interface ScriptCall {
  /** The script's name (LuaScript.name: 'apply', 'page', ...). */
  script: string;
  keys: readonly string[];
}

/** The hash slot of `key` as Redis Cluster computes it (CRC16 of the key, or of its `{hash tag}`). */
export const slotOf = (key: string): number => calculateSlot(key);

/**
 * What is wrong with each call on a Redis Cluster, one line per faulty call:
 * no key at all (the client would send it to any node), or keys in more than
 * one slot (CROSSSLOT). Empty: every call keeps to one slot.
 */
export function slotProblems(calls: readonly ScriptCall[]): string[] {
  const problems: string[] = [];
  for (const call of calls) {
    if (call.keys.length === 0) {
      problems.push(`${call.script}: no key (a Cluster client sends a keyless call to any node)`);
      continue;
    }
    const bySlot = new Map<number, string[]>();
    for (const key of call.keys) {
      const slot = slotOf(key);
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), key]);
    }
    if (bySlot.size > 1) {
      const slots = [...bySlot].map(([slot, keys]) => `slot ${slot}: ${keys.join(' ')}`).join('; ');
      problems.push(`${call.script}: keys in ${bySlot.size} slots (${slots})`);
    }
  }
  return problems;
}

/** The names in `scripts` that no recorded call ran. */
export function uncalledScripts(calls: readonly ScriptCall[], scripts: readonly string[]): string[] {
  const called = new Set(calls.map((c) => c.script));
  return scripts.filter((s) => !called.has(s));
}
