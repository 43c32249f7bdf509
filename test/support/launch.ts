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
} as const;

export function launchService(name: string, entry: string, env: Record<string, string>): ServiceProcess {
  let output = '';
  // One process, not tsx's wrapper and a child: a signal (SIGKILL included)
  // must reach the service itself.
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', join(REPO_ROOT, entry)], {
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
