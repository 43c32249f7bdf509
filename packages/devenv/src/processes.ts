import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Local processes for tests and the quickstart: a `redis-server` and the
 * go-mokapi Kafka-protocol broker, each on its own port. Used where no
 * container runtime answers.
 */

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const ASYNCAPI_FILE = join(REPO_ROOT, 'asyncapi/im-group-events.yaml');

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

function stopper(child: ChildProcess, graceMs = 3000) {
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

/** Tail of a child's output, for error messages. */
function captureOutput(child: ChildProcess): () => string {
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}

export function redisServerInstalled(): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(join(dir, 'redis-server'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
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

export function mokapiBinary(): string {
  const requireFromMokapi = createRequire(createRequire(import.meta.url).resolve('go-mokapi/package.json'));
  const platformPackage = `@go-mokapi/${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;
  return requireFromMokapi(platformPackage) as string;
}

/**
 * The go-mokapi broker on `port`, configured by the AsyncAPI file with its
 * server host rewritten to that port. Flags per TEST-BROKER.md: the dashboard,
 * search, health and MCP servers are off (they cost CPU and bind :8080).
 */
export async function startMokapi(
  opts: { port?: number; asyncapiFile?: string; topicPool?: number } = {},
): Promise<LocalProcess> {
  const port = opts.port ?? (await freePort());
  const spec = withTopicPool(
    readFileSync(opts.asyncapiFile ?? ASYNCAPI_FILE, 'utf8').replace(
      /host:\s*"?127\.0\.0\.1:\d+"?/,
      `host: "127.0.0.1:${port}"`,
    ),
    opts.topicPool ?? 0,
  );
  const dir = mkdtempSync(join(tmpdir(), 'mokapi-'));
  const file = join(dir, 'broker.yaml');
  writeFileSync(file, spec);
  const child = spawnSupervised(mokapiBinary(), [
    '--api-port=0',
    '--api-dashboard=false',
    '--api-search-enabled=false',
    '--health-enabled=false',
    '--mcp-server-enabled=false',
    '--log-level=error',
    file,
  ]);
  const output = captureOutput(child);
  try {
    await waitForPort('127.0.0.1', port, 15_000, 'go-mokapi broker', child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output()}`);
  }
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`go-mokapi broker on :${port} exited by itself (${signal ?? code}):\n${output()}`);
  });
  let stopping = false;
  const stop = stopper(child);
  return {
    port,
    url: `127.0.0.1:${port}`,
    child,
    output,
    stop: () => {
      stopping = true;
      return stop();
    },
  };
}

/**
 * go-mokapi consumes only topics its AsyncAPI file declares: a topic made by
 * CreateTopics can be produced to, but a consumer group's OffsetFetch on it
 * never answers (measured with 0.52). So the test broker declares a pool of
 * topic pairs up front, and tests lease one pair each (topics.ts).
 */
export const POOL_PARTITIONS = 4;
export function poolTopic(index: number): { events: string; dlq: string } {
  const events = `pool.${String(index).padStart(3, '0')}.events`;
  return { events, dlq: `${events}.dlq` };
}

function withTopicPool(spec: string, size: number): string {
  if (size === 0) return spec;
  const channels: string[] = [];
  const operations: string[] = [];
  for (let i = 0; i < size; i++) {
    const { events, dlq } = poolTopic(i);
    for (const [name, address, partitions] of [
      [`pool${i}Events`, events, POOL_PARTITIONS],
      [`pool${i}Dlq`, dlq, 1],
    ] as const) {
      channels.push(
        `  ${name}:`,
        `    address: ${address}`,
        `    bindings: {kafka: {partitions: ${partitions}, confluent.value.schema.validation: false}}`,
        `    messages: {any: {payload: {}}}`,
      );
      operations.push(`  ${name}Send:`, `    action: send`, `    channel: {$ref: '#/channels/${name}'}`);
    }
  }
  const insertAfter = (text: string, header: string, lines: string[]) => {
    const at = text.search(new RegExp(`^${header}:\\s*$`, 'm'));
    if (at < 0) throw new Error(`AsyncAPI file has no top-level "${header}:"`);
    const eol = text.indexOf('\n', at);
    return `${text.slice(0, eol + 1)}${lines.join('\n')}\n${text.slice(eol + 1)}`;
  };
  return insertAfter(insertAfter(spec, 'channels', channels), 'operations', operations);
}
