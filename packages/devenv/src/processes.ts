import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

/**
 * Free ports, waiting for a port, and child processes supervised so they end
 * with this Node process: what the local redis-server and broker launchers
 * (redis-server.ts, broker.ts) and the benches' service processes are built on.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export async function waitForPort(host: string, port: number, timeoutMs: number, what: string, child?: ChildProcess) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before listening`);
    if (await isListening(host, port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on ${host}:${port} within ${timeoutMs} ms`);
}

export interface LocalProcess {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** The tail of its stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after a bound; resolves when the process is gone. */
  stop(): Promise<void>;
}

export function stopper(child: ChildProcess, graceMs = 3000) {
  return () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    });
}

/**
 * Spawn `command` under a small sh watchdog that ends it when this Node
 * process dies, even by SIGKILL (a killed test run must not leave brokers and
 * Redis servers behind). SIGTERM to the watchdog is passed on to the command.
 */
const WATCHDOG = [
  '"$@" & child=$!',
  'trap \'kill -TERM $child 2>/dev/null; wait $child; exit $?\' TERM INT',
  'while kill -0 "$WATCH_PID" 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1 & wait $!; done',
  'kill -TERM $child 2>/dev/null; wait $child',
].join('\n');

export function spawnSupervised(command: string, args: string[]): ChildProcess {
  return spawn('sh', ['-c', WATCHDOG, 'watchdog', command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WATCH_PID: String(process.pid) },
  });
}

/** Whether an executable named `command` is on PATH. */
export function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Tail of a child's output, for error messages. */
export function captureOutput(child: ChildProcess): () => string {
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}
