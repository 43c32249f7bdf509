import type { ChildProcess } from 'node:child_process';
import { freePort, spawnSupervised, waitForPort } from '@imgroups/devenv';
import { childPid } from './cpu.js';

/**
 * A service process of the bench, started under packages/devenv's watchdog
 * (it dies with the bench, even a killed one) with its own environment.
 */
export interface Service {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM (the services close and exit; a CPU profile is written then), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export async function startNodeService(
  name: string,
  args: string[],
  env: Record<string, string>,
  portVar = 'API_PORT',
): Promise<Service> {
  const port = await freePort();
  const pairs = Object.entries({ ...env, [portVar]: String(port), API_HOST: '127.0.0.1' }).map(([k, v]) => `${k}=${v}`);
  const child = spawnSupervised('env', [...pairs, process.execPath, ...args]);
  let out = '';
  const keep = (b: Buffer) => (out = (out + b.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    await waitForPort('127.0.0.1', port, 30_000, name, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        // The watchdog shell and the service it runs: killing the shell alone would
        // leave the service running, holding the pipes (and so this process) open.
        const timer = setTimeout(() => {
          const service = childPid(child.pid);
          if (service !== undefined) process.kill(service, 'SIGKILL');
          child.kill('SIGKILL');
        }, 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}
