import { scanAll } from '@imgroups/read-model';
import type { Redis } from 'ioredis';
import type { Topology } from './apply-redis.js';

/**
 * bench:apply's look at what the read model keeps, over every master (scanAll:
 * SCAN on each; each batch of keys handled on the node that holds them, one
 * command per key, since a Cluster node refuses multi-key commands across slots).
 * SCAN may return a key twice (a table being resized, as after the other
 * paths' keys are deleted): each key is counted once.
 */

/** scanAll, each key handed over once. */
async function scanOnce(t: Topology, pattern: string, onKeys: (keys: string[], node: Redis) => Promise<void>): Promise<void> {
  const seen = new Set<string>();
  await scanAll(t.redis, pattern, COUNT, async (found, node) => {
    const keys = found.filter((k) => !seen.has(k));
    for (const k of keys) seen.add(k);
    if (keys.length > 0) await onKeys(keys, node);
  });
}

const COUNT = 2000;

/** Every key under `root:` deleted (a ceiling's, or a variant's read model). */
export async function deleteRoot(t: Topology, root: string): Promise<number> {
  let deleted = 0;
  await scanAll(t.redis, `${root}:*`, COUNT, async (keys, node) => {
    const pipe = node.pipeline();
    for (const k of keys) pipe.del(k);
    await pipe.exec();
    deleted += keys.length;
  });
  return deleted;
}

/** The sum of ZCARD over the keys matching `pattern`. */
export async function sumZcard(t: Topology, pattern: string): Promise<number> {
  let total = 0;
  await scanOnce(t, pattern, async (keys, node) => {
    const pipe = node.pipeline();
    for (const k of keys) pipe.zcard(k);
    for (const [, v] of (await pipe.exec())!) total += Number(v);
  });
  return total;
}

export interface KindRow {
  keys: number;
  bytes: number;
}

/** MEMORY USAGE (SAMPLES 0: exact) of every key matching `pattern`, by kind (the key's last part). */
export async function memoryByKind(t: Topology, pattern: string): Promise<Map<string, KindRow>> {
  const byKind = new Map<string, KindRow>();
  await scanOnce(t, pattern, async (keys, node) => {
    const pipe = node.pipeline();
    for (const k of keys) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    const res = (await pipe.exec())!;
    keys.forEach((k, i) => {
      const kind = k.slice(k.lastIndexOf(':') + 1);
      const row = byKind.get(kind) ?? { keys: 0, bytes: 0 };
      row.keys++;
      row.bytes += Number(res[i]![1]);
      byKind.set(kind, row);
    });
  });
  return byKind;
}
