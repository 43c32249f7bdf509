import { captureOutput, freePort, onPath, spawnSupervised, stopper, waitForPort, type LocalProcess } from './processes.js';

export function redisServerInstalled(): boolean {
  return onPath('redis-server');
}

/**
 * A throwaway redis-server on loopback. In memory only, unless `dir` is given:
 * then it keeps an append-only file there, so a stop and a start on the same
 * port and dir (an outage) keep the data.
 */
export async function startRedisServer(opts: { port?: number; host?: string; dir?: string } = {}): Promise<LocalProcess> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort());
  const persistence = opts.dir
    ? ['--dir', opts.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
    : ['--save', '', '--appendonly', 'no'];
  const child = spawnSupervised('redis-server', ['--port', String(port), '--bind', host, ...persistence, '--protected-mode', 'no']);
  const output = captureOutput(child);
  try {
    await waitForPort(host, port, 10_000, 'redis-server', child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output()}`);
  }
  return { port, url: `redis://${host}:${port}`, child, output, stop: stopper(child) };
}
