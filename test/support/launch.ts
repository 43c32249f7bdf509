import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@imgroups/devenv';

/** A service started from its main.ts as an operator runs it: configured by environment variables only. */
export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Send `signal` and wait for the exit; resolves with the code and the time it took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

export const ENTRIES = {
  projector: 'services/projector/src/main.ts',
  queryApi: 'services/query-api/src/main.ts',
  openimBridge: 'services/openim-bridge/src/main.ts',
  /** The bridge's operator commands (`pnpm openim:import`, `pnpm openim:reconcile`). */
  openimCli: 'services/openim-bridge/src/cli.ts',
} as const;

export function launchService(name: string, entry: string, env: Record<string, string>, args: string[] = []): ServiceProcess {
  let output = '';
  // One process, not tsx's wrapper and a child: a signal (SIGKILL included)
  // must reach the service itself.
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', join(REPO_ROOT, entry), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-50_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    name,
    child,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      const started = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      return { code, ms: Date.now() - started };
    },
  };
}

/** A command run to its end, as an operator runs it (tsx on its entry, environment variables only): its exit code and output. */
export async function runCommand(entry: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const run = launchService(entry, entry, env, args);
  // 'close' comes after 'exit', once the output is read to its end.
  const closed = new Promise<void>((done) => run.child.once('close', () => done()));
  const code = await run.exited;
  await closed;
  return { code, output: run.output() };
}
