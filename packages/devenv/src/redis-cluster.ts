import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureOutput, freePort, onPath, spawnSupervised, stopper, waitForPort } from './processes.js';
import { infoFields, redisCommand } from './redis-command.js';
import { exited, parseClusterNodes, pidAlive, sleep, until, type ClusterNodesEntry } from './redis-cluster-support.js';

/**
 * A throwaway Redis Cluster on loopback, without Docker: `masters` masters and
 * `replicasPerMaster` replicas of each, every node a supervised redis-server
 * (processes.ts) in memory only, their nodes-<port>.conf files in a temp dir.
 * The nodes die with the process that started them, even when it is killed or
 * interrupted (the watchdog); stop() and process exit also remove the temp
 * dir, and a later start sweeps the dirs of processes that died without either.
 */

const HOST = '127.0.0.1';
const SLOTS = 16384;
const DIR_PREFIX = 'imgroups-redis-cluster-';
const POLL_MS = 100;

export function redisClusterInstalled(): boolean {
  return onPath('redis-server') && onPath('redis-cli');
}

export interface RedisClusterOptions {
  /** Masters, sharing the 16384 slots evenly. At least 3 (redis-cli refuses fewer); default 3. */
  masters?: number;
  /** Replicas of each master; default 1. */
  replicasPerMaster?: number;
  /** cluster-node-timeout: silence after which a node counts as failing; default 2000 ms. */
  nodeTimeoutMs?: number;
  /** How long the start may take until every node reports the cluster ready; default 30 s. */
  startTimeoutMs?: number;
}

export interface RedisClusterNode {
  readonly host: string;
  readonly port: number;
  /** As last seen: at start, then by masters(), replicasOf(), killNode() and waitForFailover(). */
  readonly role: 'master' | 'replica';
  /** Its cluster node ID. */
  readonly id: string;
  /** The redis-server process itself (not its watchdog). */
  readonly pid: number;
  /** False once it was killed or stopped. */
  readonly running: boolean;
}

export interface LocalRedisCluster {
  /** Every node started, in port order of creation. */
  readonly nodes: readonly RedisClusterNode[];
  /** Every node's address, for a cluster client: ioredis `new Cluster(seeds)`. */
  readonly seeds: readonly { host: string; port: number }[];
  /**
   * The same seed list as one string: `redis://` and then every node's
   * host:port, comma-separated (`redis://127.0.0.1:P1,127.0.0.1:P2,...`). Not
   * a URL `new URL` parses: split what follows the scheme on commas.
   */
  readonly url: string;
  /** The running masters that serve slots, as the cluster reports them now. */
  masters(): Promise<RedisClusterNode[]>;
  /** The running replicas of the master on `masterPort`, as the cluster reports them now. */
  replicasOf(masterPort: number): Promise<RedisClusterNode[]>;
  /**
   * Send `signal` to one node's redis-server (default SIGKILL: a crash) and
   * resolve once it has exited; SIGSTOP/SIGTSTP/SIGCONT pause and resume it
   * and resolve at once. Notes the node's replicas first, for waitForFailover.
   */
  killNode(port: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Resolves with the new master once a replica of the master that was on
   * `oldMasterPort` reports itself master and every running node reports
   * cluster_state:ok with all 16384 slots assigned. Default timeout 30 s.
   */
  waitForFailover(oldMasterPort: number, timeoutMs?: number): Promise<RedisClusterNode>;
  /** The tail of one node's output, or of every node's. */
  output(port?: number): string;
  /** Stops every node still running (SIGTERM, then SIGKILL), resolves when all are gone, removes the temp dir. */
  stop(): Promise<void>;
}

interface Node {
  readonly port: number;
  readonly child: ChildProcess;
  readonly output: () => string;
  id: string;
  pid: number;
  role: 'master' | 'replica';
  /** killNode or stop ended it: its exit is no news. */
  expectExit: boolean;
  paused: boolean;
}

/**
 * One node's command line. Failover timing, measured here on 2 cores with the
 * default 2000 ms: a SIGKILLed master is PFAIL after node-timeout, FAIL once a
 * majority of masters agree (gossip, well under another node-timeout), then
 * its replica waits 500 ms + up to 500 ms (+ 1 s per rank) and wins the
 * election: 3-4 s in all. node-timeout is the knob; lower values make
 * spurious failovers likely when a loaded machine stalls a node.
 */
function nodeArgs(port: number, busPort: number, dir: string, nodeTimeoutMs: number): string[] {
  return [
    ...['--port', String(port), '--bind', HOST, '--protected-mode', 'no'],
    ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)],
    // A free bus port, not Redis's port + 10000: free ports come from the
    // ephemeral range (up to 60999 on Linux), and 60999 + 10000 is no port.
    ...['--cluster-port', String(busPort)],
    ...['--cluster-node-timeout', String(nodeTimeoutMs)],
    // A replica refuses to fail over when its link to the master has been
    // down longer than node-timeout × this factor (+ the replication ping
    // period): its data counts as too old. A replica of a master killed a
    // moment ago passes with the default 10 anyway; but on a stalled machine,
    // or for a replica that was itself just down, the check can leave a shard
    // without a master for good. 0 turns it off: the replica always stands,
    // which is what a throwaway cluster wants (availability over freshness).
    ...['--cluster-replica-validity-factor', '0'],
    // In memory: no RDB, no AOF; --dir only so nothing lands in the caller's cwd.
    ...['--save', '', '--appendonly', 'no', '--dir', dir],
    // Replicas sync at once (7.0 otherwise waits 5 s for more replicas to
    // share a diskless transfer) and load straight from the socket, no file.
    ...['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--repl-diskless-load', 'on-empty-db'],
    // Nothing to keep: a SIGTERMed master does not wait up to 10 s for its replicas.
    ...['--shutdown-timeout', '0'],
  ];
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<LocalRedisCluster> {
  const started = Date.now();
  const masterCount = opts.masters ?? 3;
  const replicasPerMaster = opts.replicasPerMaster ?? 1;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 2000;
  if (!Number.isInteger(masterCount) || masterCount < 3) {
    throw new Error(`a Redis Cluster needs at least 3 masters (redis-cli --cluster create refuses fewer), not ${masterCount}`);
  }
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new Error(`replicasPerMaster must be a whole number ≥ 0, not ${replicasPerMaster}`);
  }
  const count = masterCount * (1 + replicasPerMaster);
  const ports = await freePorts(2 * count);
  sweepStaleDirs();
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const nodes: Node[] = ports.slice(0, count).map((port, i) => {
    const busPort = ports[count + i]!;
    const child = spawnSupervised('redis-server', nodeArgs(port, busPort, dir, nodeTimeoutMs));
    return { port, child, output: captureOutput(child), id: '', pid: 0, role: 'master', expectExit: false, paused: false };
  });
  const running = (n: Node) => n.child.exitCode === null && n.child.signalCode === null;
  const byPort = (port: number) => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no cluster node on :${port} (nodes: ${nodes.map((n) => n.port).join(', ')})`);
    return node;
  };
  const view = (n: Node): RedisClusterNode => ({ host: HOST, port: n.port, role: n.role, id: n.id, pid: n.pid, running: running(n) });
  const output = (port?: number) =>
    (port === undefined ? nodes : [byPort(port)]).map((n) => `--- redis cluster node :${n.port}\n${n.output()}`).join('\n');

  let stopping = false;
  for (const n of nodes) {
    n.child.once('exit', (code, signal) => {
      if (!stopping && !n.expectExit) console.error(`redis cluster node :${n.port} exited by itself (${signal ?? code}):\n${n.output()}`);
    });
  }
  // Process exit: no waiting possible, so SIGKILL (the watchdogs would only notice within a second).
  const onExit = () => {
    for (const n of nodes) if (running(n) && n.pid) tryKill(n.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      await Promise.all(
        nodes.map(async (n) => {
          if (n.paused && n.pid) tryKill(n.pid, 'SIGCONT');
          await stopper(n.child)();
          // The watchdog waits for redis-server after passing SIGTERM on; only
          // when stopper's grace ran out and it was SIGKILLed can the server outlive it.
          if (n.child.signalCode === 'SIGKILL' && n.pid) await killAndWait(n.pid);
        }),
      );
      process.removeListener('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    })());

  /** Replicas of each master (by ID) when it was last seen not failing: waitForFailover's candidates. */
  const replicasSeen = new Map<string, Set<string>>();
  const topology = async (): Promise<ClusterNodesEntry[]> => {
    let problem = 'no node running';
    for (const n of nodes.filter(running)) {
      try {
        const entries = parseClusterNodes(await redisCommand(HOST, n.port, ['CLUSTER', 'NODES']));
        note(entries);
        return entries;
      } catch (err) {
        problem = (err as Error).message;
      }
    }
    throw new Error(`no cluster node answered CLUSTER NODES: ${problem}`);
  };
  const note = (entries: ClusterNodesEntry[]) => {
    const failing = (e: ClusterNodesEntry) => e.flags.includes('fail');
    for (const e of entries) {
      const node = nodes.find((n) => n.id === e.id);
      if (!node || failing(e)) continue;
      node.role = e.flags.includes('master') ? 'master' : 'replica';
      if (node.role === 'master') {
        replicasSeen.set(e.id, new Set(entries.filter((r) => r.masterId === e.id && !failing(r)).map((r) => r.id)));
      }
    }
  };
  /**
   * Every running node: cluster_state:ok, all slots assigned. With `start`
   * also: every node's own CLUSTER NODES shows all nodes, the masters serving
   * slots and each replica attached (views converge by gossip, so one node's
   * word is not enough), and every replica's link to its master is up.
   */
  const clusterOk = async (start: boolean): Promise<true | string> => {
    for (const n of nodes.filter(running)) {
      const info = infoFields(await redisCommand(HOST, n.port, ['CLUSTER', 'INFO']));
      if (info.cluster_state !== 'ok') return `:${n.port} reports cluster_state:${info.cluster_state}`;
      if (info.cluster_slots_assigned !== String(SLOTS)) return `:${n.port} has ${info.cluster_slots_assigned} slots assigned`;
      if (!start) continue;
      const entries = parseClusterNodes(await redisCommand(HOST, n.port, ['CLUSTER', 'NODES']));
      const masters = entries.filter((e) => e.flags.includes('master') && e.ownsSlots).length;
      const replicas = entries.filter((e) => e.flags.includes('slave') && e.masterId).length;
      if (entries.length !== count || masters !== masterCount || replicas !== count - masterCount) {
        return `:${n.port} sees ${entries.length} nodes, ${masters} masters serving slots, ${replicas} replicas`;
      }
      note(entries);
      const replication = infoFields(await redisCommand(HOST, n.port, ['INFO', 'replication']));
      if (replication.role === 'slave' && replication.master_link_status !== 'up') {
        return `replica :${n.port} has master_link_status:${replication.master_link_status}`;
      }
    }
    return true;
  };

  try {
    await Promise.all(nodes.map((n) => waitForPort(HOST, n.port, 10_000, `redis-server (cluster node :${n.port})`, n.child)));
    for (const n of nodes) {
      n.pid = Number(infoFields(await redisCommand(HOST, n.port, ['INFO', 'server'])).process_id);
      n.id = await redisCommand(HOST, n.port, ['CLUSTER', 'MYID']);
    }
    await createCluster(nodes.map((n) => n.port), replicasPerMaster);
    const timeoutMs = Math.max(1000, (opts.startTimeoutMs ?? 30_000) - (Date.now() - started));
    await until(timeoutMs, POLL_MS, () => clusterOk(true), 'every node to report the cluster ready');
  } catch (err) {
    await stop();
    throw new Error(`Redis Cluster did not start: ${(err as Error).message}\n${output()}`);
  }

  return {
    get nodes() {
      return nodes.map(view);
    },
    seeds: nodes.map((n) => ({ host: HOST, port: n.port })),
    url: `redis://${nodes.map((n) => `${HOST}:${n.port}`).join(',')}`,
    async masters() {
      const entries = await topology();
      return entries
        .filter((e) => e.flags.includes('master') && !e.flags.includes('fail') && e.ownsSlots)
        .flatMap((e) => nodes.filter((n) => n.id === e.id && running(n)).map(view));
    },
    async replicasOf(masterPort) {
      const master = byPort(masterPort);
      const entries = await topology();
      return entries
        .filter((e) => e.masterId === master.id && !e.flags.includes('fail'))
        .flatMap((e) => nodes.filter((n) => n.id === e.id && running(n)).map(view));
    },
    async killNode(port, signal = 'SIGKILL') {
      const node = byPort(port);
      if (!running(node)) throw new Error(`cluster node :${port} is not running`);
      await topology().catch(() => undefined); // its replicas as of now, for waitForFailover
      if (signal === 'SIGSTOP' || signal === 'SIGTSTP' || signal === 'SIGCONT') {
        process.kill(node.pid, signal);
        node.paused = signal !== 'SIGCONT';
        return;
      }
      node.expectExit = true;
      const gone = exited(node.child, 10_000);
      process.kill(node.pid, signal);
      if (node.paused) tryKill(node.pid, 'SIGCONT');
      // The watchdog ends within a second of its redis-server (it polls).
      if (!(await gone)) throw new Error(`cluster node :${port} still runs 10 s after ${signal}`);
    },
    async waitForFailover(oldMasterPort, timeoutMs = 30_000) {
      const old = byPort(oldMasterPort);
      const seen = replicasSeen.get(old.id);
      if (!seen) throw new Error(`cluster node :${oldMasterPort} was never seen as a master`);
      const candidates = nodes.filter((n) => seen.has(n.id) && running(n));
      if (candidates.length === 0) throw new Error(`master :${oldMasterPort} has no running replica to take over`);
      let promoted: Node | undefined;
      await until(
        timeoutMs,
        POLL_MS,
        async () => {
          promoted = undefined;
          for (const c of candidates) {
            const replication = infoFields(await redisCommand(HOST, c.port, ['INFO', 'replication']));
            if (replication.role === 'master') promoted = c;
          }
          if (!promoted) return `no replica of :${oldMasterPort} (${candidates.map((c) => `:${c.port}`).join(', ')}) is a master yet`;
          return clusterOk(false);
        },
        `a replica of :${oldMasterPort} to take over`,
      );
      await topology().catch(() => undefined);
      return view(promoted!);
    },
    output,
    stop,
  };
}

/** `count` distinct free ports, never 6379 or its bus port (a Redis someone else runs). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count; tries++) {
    if (tries > count * 10) throw new Error(`could not find ${count} distinct free ports`);
    const port = await freePort();
    if (port !== 6379 && port !== 16379) ports.add(port);
  }
  return [...ports];
}

function createCluster(ports: number[], replicasPerMaster: number): Promise<void> {
  const args = ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'];
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')} failed (${err.message}):\n${`${stdout}${stderr}`.slice(-2000)}`));
      else resolve();
    });
  });
}

function tryKill(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function killAndWait(pid: number) {
  tryKill(pid, 'SIGKILL');
  const deadline = Date.now() + 2000;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
}

/** Temp dirs of processes that died without stop() or an exit event (a signal's default action). */
function sweepStaleDirs() {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const owner = name.startsWith(DIR_PREFIX) ? Number(name.slice(DIR_PREFIX.length).split('-')[0]) : NaN;
    if (!(owner > 0) || pidAlive(owner)) continue;
    try {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    } catch {
      // someone else's (permissions) or going already: not ours to insist on
    }
  }
}
