import type { ChildProcess } from 'node:child_process';

/** Small pieces of the local Redis Cluster (redis-cluster.ts): CLUSTER NODES, waiting, processes. */

export interface ClusterNodesEntry {
  id: string;
  port: number;
  /** myself, master, slave, fail?, fail, handshake, noaddr, nofailover... */
  flags: string[];
  /** The master it replicates; undefined for a master. */
  masterId: string | undefined;
  /** Whether it serves at least one slot (importing/migrating entries aside). */
  ownsSlots: boolean;
}

/**
 * CLUSTER NODES text, one node a line:
 * `<id> <ip:port@busport[,hostname]> <flags> <master id or -> <ping> <pong> <epoch> <link> <slot or range>...`
 */
export function parseClusterNodes(text: string): ClusterNodesEntry[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...slots] = line.split(' ');
      const hostPort = address.split('@')[0] ?? '';
      return {
        id,
        port: Number(hostPort.slice(hostPort.lastIndexOf(':') + 1)),
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        ownsSlots: slots.some((slot) => !slot.startsWith('[')),
      };
    });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every `pollMs` until it answers true; it answers what is
 * still missing otherwise, which the timeout's error names (as does a check
 * that throws, e.g. a node not answering yet).
 */
export async function until(timeoutMs: number, pollMs: number, check: () => Promise<true | string>, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing = 'not checked';
  for (;;) {
    try {
      const answer = await check();
      if (answer === true) return;
      missing = answer;
    } catch (err) {
      missing = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}: ${missing}`);
    await sleep(pollMs);
  }
}

/** Resolves true once `child` has exited, false if it still runs after `timeoutMs`. */
export function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Whether a process with this pid exists (a zombie counts: it is not reaped yet). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
